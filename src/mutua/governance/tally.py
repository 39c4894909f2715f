"""The vote tally (计票): a pure function from ballots to a published result.

A proposal is either a *motion* (options ``yes``, ``no``, ``abstain``) or an
*election* of ``seats`` member representatives out of several candidates (each ballot
chooses at most ``seats`` distinct candidates, or ``abstain``).

Rules, in plain words:

- **turnout** is the number of valid ballots, abstentions included;
- the **quorum** is met when ``turnout >= quorum x eligible`` (exact arithmetic);
- **votes cast** on a motion are the ``yes`` and ``no`` ballots; abstaining counts
  towards the quorum but not towards the majority (the usual rule of assemblies);
- a motion passes, once the quorum is met, by a *simple majority* of votes cast
  (``yes > no``) or, for a special resolution (特别决议), by *two thirds*
  (``3 x yes >= 2 x (yes + no)``), and never with no votes cast;
- an election fills its seats with the candidates who have most votes; it passes when
  the quorum is met and no tie straddles the last seat (a tie there is for the
  assembly to resolve, never for the software to guess).

A ballot that names an option the proposal does not have, names one twice, mixes
``abstain`` with a choice, or chooses more candidates than there are seats is invalid and
is counted nowhere (``rejected``); services refuse such ballots before they are stored,
so in practice ``rejected`` is zero.

>>> rule = VoteRule.motion(quorum=Fraction(1, 2), threshold="simple")
>>> r = tally(rule, eligible=10, ballots=[("yes",), ("yes",), ("no",), ("abstain",), ("abstain",)])
>>> r.turnout, r.quorum_met, r.counts, r.passed
(5, True, {'yes': 2, 'no': 1, 'abstain': 2}, True)
>>> tally(rule, eligible=11, ballots=[("yes",)] * 5).quorum_met
False
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import combinations
from math import comb

ABSTAIN = "abstain"
YES = "yes"
NO = "no"
MOTION_OPTIONS = (YES, NO, ABSTAIN)
THRESHOLDS = ("simple", "two_thirds")


@dataclass(frozen=True)
class VoteRule:
    """What a proposal asks and how it is decided."""

    options: tuple[str, ...]
    quorum: Fraction  # share of eligible members who must take part, 0..1
    threshold: str = "simple"  # simple | two_thirds (motions)
    seats: int = 0  # 0 for a motion; N for an election of N representatives

    @classmethod
    def motion(cls, *, quorum: Fraction, threshold: str = "simple") -> VoteRule:
        return cls(options=MOTION_OPTIONS, quorum=Fraction(quorum), threshold=threshold)

    @classmethod
    def election(cls, *, candidates: Sequence[str], seats: int, quorum: Fraction) -> VoteRule:
        return cls(options=(*candidates, ABSTAIN), quorum=Fraction(quorum),
                   threshold="plurality", seats=seats)

    @property
    def is_election(self) -> bool:
        return self.seats > 0

    @property
    def candidates(self) -> tuple[str, ...]:
        return tuple(o for o in self.options if o != ABSTAIN)


@dataclass(frozen=True)
class Result:
    """The published result of a vote."""

    eligible: int
    turnout: int
    quorum_met: bool
    counts: dict[str, int]  # votes per option, in the proposal's order, abstain included
    passed: bool
    elected: tuple[str, ...] = ()
    tie: tuple[str, ...] = ()  # candidates tied across the last seat, if any
    rejected: int = 0
    votes_cast: int = 0  # ballots for a real option (not abstain)

    def as_published(self) -> dict:
        """The shape printed by ``mutua governance tally --json`` and sent to members."""
        return {
            "eligible": self.eligible,
            "turnout": self.turnout,
            "quorum_met": self.quorum_met,
            "options": [{"option": o, "votes": n} for o, n in self.counts.items()],
            "passed": self.passed,
            "elected": list(self.elected),
            "tie": list(self.tie),
        }


@dataclass
class _Acc:
    counts: Counter = field(default_factory=Counter)
    turnout: int = 0
    rejected: int = 0


def normalise_choice(rule: VoteRule, choice: Iterable[str]) -> tuple[str, ...] | None:
    """The canonical form of one ballot's choice, or None when the ballot is invalid.

    >>> rule = VoteRule.election(candidates=["c1", "c2", "c3"], seats=2, quorum=Fraction(0))
    >>> normalise_choice(rule, ["c3", "c1"]), normalise_choice(rule, ["c1", "c1"])
    (('c1', 'c3'), None)
    """
    picked = tuple(choice)
    if not picked or len(set(picked)) != len(picked):
        return None
    if any(o not in rule.options for o in picked):
        return None
    if ABSTAIN in picked:
        return (ABSTAIN,) if len(picked) == 1 else None
    limit = rule.seats if rule.is_election else 1
    if len(picked) > limit:
        return None
    order = {o: i for i, o in enumerate(rule.options)}
    return tuple(sorted(picked, key=order.__getitem__))


def count_choices(rule: VoteRule) -> int:
    """How many different valid ballots the rule allows (abstaining is one of them).

    >>> count_choices(VoteRule.motion(quorum=Fraction(0)))
    3
    >>> count_choices(VoteRule.election(candidates=["c1", "c2", "c3"], seats=2,
    ...                                 quorum=Fraction(0)))
    7
    """
    named = [o for o in rule.options if o != ABSTAIN]
    limit = rule.seats if rule.is_election else 1
    return sum(comb(len(named), k) for k in range(1, limit + 1)) + (ABSTAIN in rule.options)


def every_choice(rule: VoteRule) -> Iterable[tuple[str, ...]]:
    """Every valid ballot in its canonical form, abstaining last: what a voter who kept
    only their secret may have chosen (see governance.ballots.change_ballot).

    >>> list(every_choice(VoteRule.election(candidates=["c1", "c2", "c3"], seats=2,
    ...                                     quorum=Fraction(0))))
    [('c1',), ('c2',), ('c3',), ('c1', 'c2'), ('c1', 'c3'), ('c2', 'c3'), ('abstain',)]
    """
    named = [o for o in rule.options if o != ABSTAIN]
    limit = rule.seats if rule.is_election else 1
    for k in range(1, limit + 1):
        yield from combinations(named, k)
    if ABSTAIN in rule.options:
        yield (ABSTAIN,)


def tally(rule: VoteRule, *, eligible: int, ballots: Iterable[Iterable[str]]) -> Result:
    """Count individual ballots (each an iterable of option codes)."""
    grouped: Counter = Counter()
    for b in ballots:
        grouped[tuple(b)] += 1
    return tally_grouped(rule, eligible=eligible, grouped=grouped)


def tally_grouped(rule: VoteRule, *, eligible: int,
                  grouped: Mapping[tuple[str, ...], int]) -> Result:
    """Count ballots already grouped by choice (what ``GROUP BY choice`` returns).

    Each distinct choice is checked once, so a million ballots cost a handful of checks.
    """
    if eligible < 0:
        raise ValueError("eligible must not be negative")
    acc = _Acc()
    for choice, n in grouped.items():
        if n <= 0:
            continue
        canonical = normalise_choice(rule, choice)
        if canonical is None:
            acc.rejected += n
            continue
        acc.turnout += n
        for option in canonical:
            acc.counts[option] += n
    counts = {o: acc.counts.get(o, 0) for o in rule.options}
    quorum_met = eligible > 0 and Fraction(acc.turnout) >= rule.quorum * eligible
    votes_cast = acc.turnout - counts.get(ABSTAIN, 0)
    if rule.is_election:
        elected, tie = _seats(rule, counts)
        passed = quorum_met and not tie and len(elected) == rule.seats
        return Result(eligible, acc.turnout, quorum_met, counts, passed, elected, tie,
                      acc.rejected, votes_cast)
    passed = quorum_met and _majority(rule.threshold, counts.get(YES, 0), counts.get(NO, 0))
    return Result(eligible, acc.turnout, quorum_met, counts, passed, (), (), acc.rejected,
                  votes_cast)


def _majority(threshold: str, yes: int, no: int) -> bool:
    cast = yes + no
    if cast == 0:
        return False
    if threshold == "two_thirds":
        return 3 * yes >= 2 * cast
    if threshold == "simple":
        return 2 * yes > cast
    raise ValueError(f"unknown threshold {threshold!r}")


def _seats(rule: VoteRule, counts: Mapping[str, int]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Elected candidates (most votes first) and any tie across the last seat.

    A candidate with no votes is never elected.

    >>> rule = VoteRule.election(candidates=["a", "b", "c"], seats=1, quorum=Fraction(0))
    >>> _seats(rule, {"a": 3, "b": 3, "c": 1, "abstain": 0})
    ((), ('a', 'b'))
    """
    ranked = sorted((c for c in rule.candidates if counts.get(c, 0) > 0),
                    key=lambda c: -counts[c])
    if len(ranked) <= rule.seats:
        return tuple(ranked), ()
    cut = counts[ranked[rule.seats - 1]]
    if counts[ranked[rule.seats]] == cut:
        tied = tuple(c for c in ranked if counts[c] == cut)
        return tuple(c for c in ranked if counts[c] > cut), tied
    return tuple(ranked[: rule.seats]), ()
