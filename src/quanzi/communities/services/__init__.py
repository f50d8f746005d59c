"""Writes of the communities domain, by part: setup (communities, groups, plans), joining
(groups, waiting lists, invitations) and memberships (payment, renewal, expiry)."""
