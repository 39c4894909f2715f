"""Member governance (会员治理): proposals, votes, meetings, ratings.

The members own the mutual; here they decide, and their decisions take effect.

- ``tally``: the pure count (turnout, quorum, simple or two-thirds majority of votes
  cast, abstention as a choice; N-of-M elections).
- ``receipts``: SHA-256 ballot receipts over (proposal, choice, a 32-byte secret only the
  voter holds).
- ``service``: proposals, the electorate frozen at opening, one secret ballot per
  member (choices stored with no member id), close, published result and receipt list.
- ``enactment``: passed pricing, allocation and election proposals take effect through
  the catalogue and settlement services, never on a period on sale or a closed quarter.
- ``pricing`` (pure) and ``experience``: coefficient tables from claims experience with
  Buhlmann-Straub credibility, same uniform premium.
- ``meetings``: consultation meetings (会员恳谈会) and feedback tracked to done.
- ``ratings``: service ratings (会员服务评价), once per service, follow-ups for 1 and 2.
- ``router`` (/api/v1/governance), ``cli`` (``mutua governance``), ``demo``.
"""
