"""How soon a new care alert is acknowledged, by severity (health.rules.ACKNOWLEDGE_WITHIN)."""

from datetime import UTC, datetime, timedelta

import pytest

from mutua.health import rules

RAISED = datetime(2026, 3, 1, 9, tzinfo=UTC)


def test_every_severity_has_a_time_and_the_more_severe_the_sooner():
    assert set(rules.ACKNOWLEDGE_WITHIN) == set(rules.SEVERITIES)
    times = [rules.ACKNOWLEDGE_WITHIN[s] for s in rules.SEVERITIES]  # low .. critical
    assert times == sorted(times, reverse=True)


@pytest.mark.parametrize(("severity", "hours", "late"), [
    ("critical", 23, False), ("critical", 25, True), ("high", 47, False), ("high", 49, True),
    ("medium", 7 * 24 - 1, False), ("medium", 7 * 24 + 1, True), ("low", 14 * 24 + 1, True)])
def test_an_open_alert_is_overdue_past_its_time(severity, hours, late):
    assert rules.alert_overdue("open", severity, RAISED, RAISED + timedelta(hours=hours)) is late


@pytest.mark.parametrize("status", ["acknowledged", "contacted", "resolved"])
def test_an_alert_someone_has_seen_is_never_overdue(status):
    assert not rules.alert_overdue(status, "critical", RAISED, RAISED + timedelta(days=30))
