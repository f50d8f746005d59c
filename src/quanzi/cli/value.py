"""``quanzi analytics clv``: fit BG/NBD and Gamma-Gamma on a community's orders."""

from __future__ import annotations

import json

import click

from quanzi.cli.analytics import analytics_group
from quanzi.cli.setup import django_setup

__all__ = ["analytics_group", "clv"]


@analytics_group.command("clv")
@click.option("--community", "slug", required=True, help="The community's slug.")
@click.option(
    "--until",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="End of the calibration period (YYYY-MM-DD; default today).",
)
@click.option("--unit", type=click.Choice(["day", "week"]), default="day", show_default=True)
@click.option(
    "--horizon",
    "horizon_days",
    type=int,
    default=90,
    show_default=True,
    help="Days ahead for expected purchases and CLV.",
)
@click.option("--top", type=int, default=5, show_default=True, help="Members to list by CLV.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
def clv(slug: str, until: object, unit: str, horizon_days: int, top: int, as_json: bool) -> None:
    """Fit BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma on the community's paid orders
    and print the parameters, the log-likelihood and the number of members; each member's
    P(alive), expected purchases and CLV are stored for the console and the API."""
    django_setup()
    from quanzi.analytics.selectors.value import slipping_members, top_members
    from quanzi.analytics.services.value import value_fit
    from quanzi.communities.selectors import community_by_slug
    from quanzi.core.money import Money
    from quanzi.members.models import Member

    target = community_by_slug(slug)
    day = until.date() if until is not None else None  # type: ignore[attr-defined]
    fit = value_fit(community=target, until=day, unit=unit, horizon_days=horizon_days)
    best = top_members(target, limit=max(top, 0))
    names = dict(
        Member.objects.filter(pk__in=[v.member_id for v in best]).values_list("pk", "display_name")
    )
    slipping = slipping_members(target)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "community": slug,
                    "until": fit.until.isoformat(),
                    "unit": fit.unit,
                    "members": fit.members,
                    "r": fit.r,
                    "alpha": fit.alpha,
                    "a": fit.a,
                    "b": fit.b,
                    "log_likelihood": fit.log_likelihood,
                    "gamma_gamma": (
                        {"p": fit.gg_p, "q": fit.gg_q, "v": fit.gg_v, "members": fit.gg_members}
                        if fit.gg_p is not None
                        else None
                    ),
                    "horizon_days": fit.horizon_days,
                    "top": [
                        {
                            "member_id": v.member_id,
                            "p_alive": round(v.p_alive, 4),
                            "expected_purchases": round(v.expected_purchases, 3),
                            "clv_minor": v.clv_minor,
                        }
                        for v in best
                    ],
                    "slipping": len(slipping),
                },
                ensure_ascii=False,
            )
        )
        return
    click.echo(f"BG/NBD on {fit.members} members of {slug} up to {fit.until} (unit: {fit.unit})")
    click.echo(f"  r = {fit.r:.4f}  alpha = {fit.alpha:.4f}  a = {fit.a:.4f}  b = {fit.b:.4f}")
    click.echo(f"  log-likelihood = {fit.log_likelihood:.2f}")
    if fit.gg_p is not None:
        click.echo(
            f"Gamma-Gamma on {fit.gg_members} repeat buyers: p = {fit.gg_p:.4f}  "
            f"q = {fit.gg_q:.4f}  v = {fit.gg_v:.4f}"
        )
    else:
        click.echo("Gamma-Gamma: too few repeat buyers; spend is each member's own mean.")
    if best:
        click.echo(f"Top {len(best)} by CLV over {fit.horizon_days} days:")
        for v in best:
            click.echo(
                f"  {names.get(v.member_id, v.member_id)}: CLV {Money(v.clv_minor, target.currency)}, "
                f"P(alive) {v.p_alive:.2f}, expected purchases {v.expected_purchases:.2f}"
            )
    click.echo(f"Valuable but slipping: {len(slipping)} member(s) (console: analytics).")
