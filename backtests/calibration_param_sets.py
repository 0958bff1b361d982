"""Writes for synthetic-price parameter sets: propose a run's fitted parameters, put a set in use by
the policy or by an operator's approval.

When a fitted run succeeds, each currency's fitted parameters are stored as a proposed
:class:`~backtests.models.CalibrationParamSet`. If the policy (:mod:`backtests.calibration_policy`)
holds and the parameters in use are still those the run compared against, the new set is put in
use at once; otherwise it waits for an operator. Putting a set in use retires the one before it
(at most one set per currency is in use, a database constraint) and supersedes older proposals;
``calibration.params`` is published. Sets are never deleted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from backtests.calibration_runner import CalibrationOutput
from backtests.models import CalibrationParamSet
from optionsbot.live import live_event_publish

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SetStatus = CalibrationParamSet.Status


class AlreadyInUseError(Exception):
    """The parameter set is already in use."""


_ANY = object()


def _put_in_use(
    param_set: CalibrationParamSet, *, expected: Any, decision: str, user: User | None, reason: str
) -> bool:
    """Put ``param_set`` in use, retiring the set in use for its currency, if that set is still
    ``expected`` (a set id, ``None`` for the defaults, or ``_ANY``); ``True`` when it moved."""
    with transaction.atomic():
        current = (
            CalibrationParamSet.objects.select_for_update()
            .filter(currency=param_set.currency, status=SetStatus.IN_USE)
            .first()
        )
        if current is not None and current.pk == param_set.pk:
            raise AlreadyInUseError(f"set #{param_set.pk} is already in use")
        if expected is not _ANY and (current.pk if current else None) != expected:
            return False
        now = timezone.now()
        if current is not None:
            CalibrationParamSet.objects.filter(pk=current.pk, status=SetStatus.IN_USE).update(
                status=SetStatus.RETIRED, retired_at=now, retired_note=f"Replaced by set #{param_set.pk}."
            )
        moved = CalibrationParamSet.objects.filter(
            pk=param_set.pk, status__in=[SetStatus.PROPOSED, SetStatus.RETIRED]
        ).update(
            status=SetStatus.IN_USE,
            decision=decision,
            decided_by=user,
            decided_at=now,
            reason=reason,
            retired_at=None,
            retired_note="",
        )
        if not moved:
            raise AlreadyInUseError(f"set #{param_set.pk} is already in use")
        CalibrationParamSet.objects.filter(
            currency=param_set.currency, status=SetStatus.PROPOSED, pk__lt=param_set.pk
        ).update(status=SetStatus.RETIRED, retired_at=now, retired_note=f"Superseded by set #{param_set.pk}.")
        live_event_publish(
            topic="calibration.params",
            payload={"id": param_set.pk, "currency": param_set.currency, "status": SetStatus.IN_USE},
        )
    return True


def calibration_params_propose(*, run_id: int, out: CalibrationOutput) -> None:
    """Store each currency's fitted parameters of run ``run_id`` as a proposal, and put it in use
    when the policy holds (call inside the transaction that stores the run's results)."""
    for currency, params in out.fitted.items():
        block = out.report["currencies"][currency]
        verdict = block["policy"] or {}
        param_set = CalibrationParamSet.objects.create(
            currency=currency,
            parameters=params.model_dump(mode="json"),
            source_run_id=run_id,
            verdict=verdict,
            reason=str(verdict.get("summary", "")),
        )
        if not verdict.get("passed"):
            continue
        checks = " ".join(str(c["text"]) for c in verdict.get("checks", []))
        applied = _put_in_use(
            param_set,
            expected=block["in_use"]["set_id"],
            decision=CalibrationParamSet.Decision.POLICY,
            user=None,
            reason=f"Put in use by the policy after calibration #{run_id}. {checks}",
        )
        if not applied:
            CalibrationParamSet.objects.filter(pk=param_set.pk).update(
                reason="Not put in use automatically: the parameters in use changed while calibration "
                f"#{run_id} ran, so its comparison is out of date. Run it again, or approve this set."
            )


def calibration_params_approve(*, param_set: CalibrationParamSet, user: User) -> CalibrationParamSet:
    """An operator puts ``param_set`` in use (a proposal, or a retired set to go back to); raises
    :class:`AlreadyInUseError` when it already is."""
    _put_in_use(
        param_set,
        expected=_ANY,
        decision=CalibrationParamSet.Decision.OPERATOR,
        user=user,
        reason=f"Approved by {user.get_username()} on {timezone.now():%Y-%m-%d %H:%M} UTC.",
    )
    param_set.refresh_from_db()
    return param_set
