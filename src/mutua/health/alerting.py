"""Alerts from a batch of lab results: which rules the new results break (eGFR, rapid
decline, albuminuria, out-of-range values), the latest per patient and rule written once,
never twice while one is open, and the patient told (the values stay in the record)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from mutua.db import copy_columns
from mutua.health import rules
from mutua.health.columns import member_chunks, np_now, nullable
from mutua.health.models import Alert
from mutua.notify import service as notify

if TYPE_CHECKING:  # the pipeline's own types; it calls in here
    from mutua.health.ingest import Batch
    from mutua.health.series import History, Series



@dataclass
class AlertRows:
    member: list[np.ndarray] = field(default_factory=list)
    rule: list[np.ndarray] = field(default_factory=list)
    value: list[np.ndarray] = field(default_factory=list)
    obs: list[np.ndarray] = field(default_factory=list)
    when: list[np.ndarray] = field(default_factory=list)

    def extend(self, hits: rules.Hits, member, obs, when) -> None:
        for rows, rule, vals in zip(hits.row, hits.rule, hits.value, strict=True):
            self.member.append(member[rows])
            self.rule.append(np.full(len(rows), rule, dtype=object))
            self.value.append(vals)
            self.obs.append(obs[rows])
            self.when.append(when[rows])


def collect_alerts(b: Batch, obs_ids, s: Series, h: History) -> AlertRows:
    out = AlertRows()
    out.extend(rules.egfr_rules(s.member, s.egfr, s.g_idx, s.new, s.risk_2y, s.risk_5y),
               s.member, s.obs_id, s.when)
    rapid = rules.rapid_members(s.slope, s.slope_n, s.slope_span) & s.new
    rows = np.flatnonzero(rapid)
    out.extend(rules.Hits([rows], ["rapid_progression"], [s.slope[rows]]) if len(rows)
               else rules.Hits.empty(), s.member, s.obs_id, s.when)
    is_acr = b.kind == "acr"
    am = np.concatenate([h.acr_member, b.member[is_acr]])
    ad = np.concatenate([h.acr_day, b.day[is_acr]])
    av = np.concatenate([h.acr_value, b.value[is_acr]])
    anew = np.concatenate([np.zeros(len(h.acr_member), bool), np.ones(int(is_acr.sum()), bool)])
    aobs = np.concatenate([np.full(len(h.acr_member), -1, np.int64), obs_ids[is_acr]])
    awhen = np.concatenate([np.full(len(h.acr_member), np.datetime64("NaT"), "datetime64[us]"),
                            b.when[is_acr]])
    order = np.lexsort((ad, am))
    out.extend(rules.acr_rules(am[order], av[order], anew[order]), am[order], aobs[order],
               awhen[order])
    out.extend(rules.range_rules(b.kind, b.value, np.ones(len(b.kind), bool)), b.member,
               obs_ids, b.when)
    return out


def write_alerts(db, a: AlertRows, patients, now) -> int:
    """Insert the latest alert per (patient, rule), skipping rules already open for them."""
    if not a.member:
        return 0
    member = np.concatenate(a.member)
    rule = np.concatenate(a.rule).astype(str)
    value = np.concatenate(a.value).astype(np.float64)
    obs = np.concatenate(a.obs)
    when = np.concatenate(a.when)
    names = np.array(sorted(rules.RULES))
    code = np.searchsorted(names, rule)
    pair = member.astype(np.int64) * 64 + code
    order = np.lexsort((when, pair))
    last = np.ones(len(order), dtype=bool)
    last[:-1] = pair[order][1:] != pair[order][:-1]
    keep = order[last]
    open_now = open_alert_keys(db, np.unique(member[keep]).tolist())
    if open_now:
        taken = np.array([m * 64 + int(np.searchsorted(names, r)) for m, r in open_now])
        keep = keep[~np.isin(pair[keep], taken)]
    if len(keep) == 0:
        return 0
    sev = np.array([rules.RULES[r][0] for r in names], dtype=object)[code[keep]]
    critical_k = (rule[keep] == "potassium_high") & (value[keep] >= rules.POTASSIUM_CRITICAL)
    sev[critical_k] = "critical"
    sev_rank = np.array([rules.SEVERITY_RANK[x] for x in sev], dtype=np.int64)
    nowv = np.full(len(keep), np_now(now))
    project = patients.get(member[keep], "project_id")
    copy_columns(db, Alert.__tablename__, {
        "project_id": nullable(project), "member_id": member[keep],
        "rule": rule[keep].astype(object), "severity": sev, "severity_rank": sev_rank,
        "value": np.round(value[keep], 4), "observation_id": nullable(obs[keep]),
        "effective_at": when[keep], "status": np.full(len(keep), "open", dtype=object),
        "created_at": nowv, "updated_at": nowv,
    })
    notify.tell_members(  # the patients hear; the values stay here
        db, event="health.alert", member_ids=member[keep],
                        project_ids=nullable(project))
    return len(keep)


def open_alert_keys(db: Session, members: list[int]) -> set[tuple[int, str]]:
    out: set[tuple[int, str]] = set()
    wanted = set(members)
    for where in member_chunks(Alert.member_id, members):
        out.update((int(m), r) for m, r in db.execute(
            select(Alert.member_id, Alert.rule).where(where, Alert.status != "resolved"))
            if m in wanted)
    return out
