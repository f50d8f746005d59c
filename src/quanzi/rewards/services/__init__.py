"""Every write of the rewards app: crystals earned, spent, clawed back and expired; what they
buy; growth levels; cash rewards and perks for contributors."""
