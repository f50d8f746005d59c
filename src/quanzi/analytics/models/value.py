"""Member value: a fitted BG/NBD + Gamma-Gamma model and what it says about each member."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from quanzi.communities.models import Community


class ValueFit(models.Model):
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="value_fits")
    fitted_at = models.DateTimeField()
    until = models.DateField()  # calibration ends at the end of this day
    unit = models.CharField(max_length=8, default="day")  # "day" or "week"
    members = models.IntegerField(default=0)
    # BG/NBD (Fader, Hardie & Lee 2005)
    r = models.FloatField()
    alpha = models.FloatField()
    a = models.FloatField()
    b = models.FloatField()
    log_likelihood = models.FloatField()
    # Gamma-Gamma spend model (Fader, Hardie & Lee 2005b); empty when too few repeat buyers
    gg_p = models.FloatField(null=True, blank=True)
    gg_q = models.FloatField(null=True, blank=True)
    gg_v = models.FloatField(null=True, blank=True)
    gg_members = models.IntegerField(default=0)
    horizon_days = models.IntegerField(default=90)

    class Meta:
        ordering = ["-fitted_at", "-id"]
        verbose_name = _("member value fit")
        verbose_name_plural = _("member value fits")

    def __str__(self) -> str:
        return f"{self.community_id} @ {self.until}"


class MemberValue(models.Model):
    fit = models.ForeignKey(ValueFit, on_delete=models.CASCADE, related_name="values")
    community_id = models.BigIntegerField()
    member_id = models.BigIntegerField()
    frequency = models.IntegerField()  # repeat purchase days after the first
    recency = models.FloatField()  # first to last purchase, in units
    age = models.FloatField()  # first purchase to the end of calibration (T), in units
    monetary_minor = models.BigIntegerField(default=0)  # mean spend per purchase day
    p_alive = models.FloatField()
    p_alive_before = models.FloatField(null=True, blank=True)  # at the previous fit
    expected_purchases = models.FloatField()  # in the fit's horizon
    clv_minor = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["fit", "member_id"], name="member_value_unique")
        ]
        indexes = [models.Index(fields=["fit", "clv_minor"], name="member_value_clv")]

    def __str__(self) -> str:
        return f"{self.member_id} in fit {self.fit_id}"
