"""HTTP routes under /api/v1/governance.

The secretary runs proposals and meetings; the actuary generates pricing proposals;
members vote, register, give feedback and rate. Members see what is in their scope.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.deps import (
    DbSession,
    Page,
    Paging,
    PathId,
    QueryId,
    ReadDbSession,
    Router,
    allow,
)
from mutua.governance import ballots, experience, meetings, ratings, service
from mutua.governance.schemas import (
    AttendanceIn,
    BallotChangeIn,
    BallotIn,
    BallotReceipt,
    FeedbackIn,
    FeedbackOut,
    FeedbackUpdate,
    MeetingIn,
    MeetingOut,
    MinutesIn,
    ParticipationOut,
    PricingProposalIn,
    ProposalIn,
    ProposalOut,
    RatingIn,
    RatingOut,
    RatingSummary,
    ReceiptOut,
    ResultOut,
    VerifyIn,
    VerifyOut,
)

router = Router(prefix="/governance", tags=["governance"])

Secretary = Annotated[Principal, Depends(allow(Role.SECRETARY))]
Actuary = Annotated[Principal, Depends(allow(Role.ACTUARY))]
Member = Annotated[Principal, Depends(allow(Role.MEMBER))]
MemberOrSecretary = Annotated[Principal, Depends(allow(Role.MEMBER, Role.SECRETARY))]
FeedbackOwner = Annotated[Principal, Depends(allow(Role.SECRETARY, Role.CLAIMS, Role.CARE,
                                                   Role.UNDERWRITER, Role.ACTUARY))]
ServiceStaff = Annotated[Principal, Depends(allow(Role.SECRETARY, Role.CLAIMS, Role.CARE,
                                                  Role.UNDERWRITER, Role.ACTUARY,
                                                  Role.FINANCE))]
AnyCaller = Annotated[Principal, Depends(allow(*Role))]


# --- proposals -------------------------------------------------------------------------


@router.post("/proposals", response_model=ProposalOut, status_code=201)
def create_proposal(body: ProposalIn, db: DbSession, actor: Secretary) -> ProposalOut:
    """Draft a proposal; its payload is checked now so members never vote on the impossible."""
    p = service.create_proposal(db, actor=actor, **body.model_dump())
    return ProposalOut.of(p)


@router.post("/proposals/pricing", response_model=ProposalOut, status_code=201)
def generate_pricing(body: PricingProposalIn, db: DbSession, actor: Actuary) -> ProposalOut:
    """Generate a pricing proposal from the product's claims experience (actuary)."""
    p = experience.generate_pricing_proposal(db, actor=actor, quorum=str(body.quorum),
                                             **body.model_dump(exclude={"quorum"}))
    return ProposalOut.of(p)


@router.get("/proposals", response_model=Page[ProposalOut])
def list_proposals(db: DbSession, actor: AnyCaller, paging: Paging,
                   status: Annotated[str | None, Query(max_length=12)] = None
                   ) -> Page[ProposalOut]:
    items, total = service.list_proposals(db, actor=actor, status=status, limit=paging.limit,
                                          offset=paging.offset)
    return Page(items=[ProposalOut.of(p) for p in items], total=total, limit=paging.limit,
                offset=paging.offset)


@router.get("/proposals/{proposal_id}", response_model=ProposalOut)
def get_proposal(proposal_id: PathId, db: DbSession, actor: AnyCaller) -> ProposalOut:
    """One proposal; a pricing proposal carries the current and proposed table side by side."""
    return ProposalOut.of(service.visible_proposal(db, proposal_id=proposal_id, actor=actor))


@router.post("/proposals/{proposal_id}/open", response_model=ProposalOut)
def open_proposal(proposal_id: PathId, db: DbSession, actor: Secretary) -> ProposalOut:
    return ProposalOut.of(service.open_proposal(db, proposal_id=proposal_id, actor=actor))


@router.post("/proposals/{proposal_id}/close", response_model=ProposalOut)
def close_proposal(proposal_id: PathId, db: DbSession, actor: Secretary) -> ProposalOut:
    """Close after the window, publish the tally, and enact the decision if it passed."""
    return ProposalOut.of(service.close_proposal(db, proposal_id=proposal_id, actor=actor))


@router.post("/proposals/{proposal_id}/ballots", response_model=BallotReceipt, status_code=201)
def cast_ballot(proposal_id: PathId, body: BallotIn, db: DbSession, actor: Member
                ) -> BallotReceipt:
    """Vote once. The secret in the answer is shown only now: keep it."""
    return BallotReceipt(**ballots.cast_ballot(db, proposal_id=proposal_id, choice=body.choice,
                                                          actor=actor))


@router.post("/proposals/{proposal_id}/ballots/change", response_model=BallotReceipt)
def change_ballot(proposal_id: PathId, body: BallotChangeIn, db: DbSession, actor: Member
                  ) -> BallotReceipt:
    """Replace one's ballot before the window closes, proving it with its secret."""
    return BallotReceipt(**ballots.change_ballot(db, proposal_id=proposal_id, actor=actor,
                                                            **body.model_dump()))


@router.get("/proposals/{proposal_id}/result", response_model=ResultOut)
def result(proposal_id: PathId, db: DbSession, actor: AnyCaller) -> ResultOut:
    """The published result (after close), for staff and members in scope."""
    return ResultOut(**service.published_result(db, proposal_id=proposal_id, actor=actor))


@router.get("/proposals/{proposal_id}/receipts", response_model=Page[ReceiptOut])
def receipts(proposal_id: PathId, db: DbSession, actor: AnyCaller, paging: Paging,
             receipt: Annotated[str | None, Query(max_length=64)] = None
             ) -> Page[ReceiptOut]:
    """The published list of (receipt, choice): find yours, or recount them all."""
    items, total = ballots.receipt_list(db, proposal_id=proposal_id, actor=actor,
                                                   limit=paging.limit, offset=paging.offset,
                                                   receipt=receipt)
    return Page(items=[ReceiptOut(**i) for i in items], total=total, limit=paging.limit,
                offset=paging.offset)


@router.post("/proposals/{proposal_id}/verify", response_model=VerifyOut)
def verify(proposal_id: PathId, body: VerifyIn, db: DbSession, actor: AnyCaller) -> VerifyOut:
    """Was my ballot counted? Recomputes the receipt from the secret you kept."""
    return VerifyOut(**ballots.verify_ballot(db, proposal_id=proposal_id, secret=body.secret,
                                                        choice=body.choice, actor=actor))


@router.get("/members/{member_id}/participation", response_model=Page[ParticipationOut])
def participation(member_id: PathId, db: DbSession, actor: MemberOrSecretary, paging: Paging
                  ) -> Page[ParticipationOut]:
    """Proposals a member could vote on and whether they did: never how they voted."""
    items, total = service.participation(db, member_id=member_id, actor=actor,
                                         limit=paging.limit, offset=paging.offset)
    return Page(items=[ParticipationOut(**i) for i in items], total=total, limit=paging.limit,
                offset=paging.offset)


# --- meetings and feedback -------------------------------------------------------------


@router.post("/meetings", response_model=MeetingOut, status_code=201)
def schedule_meeting(body: MeetingIn, db: DbSession, actor: Secretary) -> MeetingOut:
    return MeetingOut.model_validate(meetings.schedule_meeting(db, actor=actor,
                                                               **body.model_dump()))


@router.get("/meetings", response_model=Page[MeetingOut])
def list_meetings(db: DbSession, actor: AnyCaller, paging: Paging) -> Page[MeetingOut]:
    items, total = meetings.list_meetings(db, actor=actor, limit=paging.limit,
                                          offset=paging.offset)
    return Page(items=[MeetingOut.model_validate(m) for m in items], total=total,
                limit=paging.limit, offset=paging.offset)


@router.get("/meetings/{meeting_id}", response_model=MeetingOut)
def get_meeting(meeting_id: PathId, db: DbSession, actor: AnyCaller) -> MeetingOut:
    return MeetingOut.model_validate(meetings.get_meeting(db, meeting_id=meeting_id,
                                                          actor=actor))


@router.post("/meetings/{meeting_id}/registrations", status_code=201)
def register(meeting_id: PathId, db: DbSession, actor: Member) -> dict:
    reg = meetings.register(db, meeting_id=meeting_id, actor=actor)
    return {"meeting_id": reg.meeting_id, "registered": True}


@router.post("/meetings/{meeting_id}/attendance")
def attendance(meeting_id: PathId, body: AttendanceIn, db: DbSession, actor: Secretary) -> dict:
    marked = meetings.record_attendance_of(db, meeting_id=meeting_id, actor=actor,
                                           member_ids=body.member_ids,
                                           member_numbers=body.member_numbers)
    return {"meeting_id": meeting_id, "attended": marked}


@router.post("/meetings/{meeting_id}/minutes", response_model=MeetingOut)
def minutes(meeting_id: PathId, body: MinutesIn, db: DbSession, actor: Secretary) -> MeetingOut:
    return MeetingOut.model_validate(meetings.publish_minutes(db, meeting_id=meeting_id,
                                                              actor=actor, **body.model_dump()))


@router.post("/feedback", response_model=FeedbackOut, status_code=201)
def raise_feedback(body: FeedbackIn, db: DbSession, actor: MemberOrSecretary) -> FeedbackOut:
    return FeedbackOut.model_validate(meetings.raise_feedback(db, actor=actor,
                                                              **body.model_dump()))


@router.get("/feedback", response_model=Page[FeedbackOut])
def list_feedback(db: DbSession, actor: AnyCaller, paging: Paging,
                  project_id: QueryId = None, meeting_id: QueryId = None,
                  status: Annotated[str | None, Query(max_length=12)] = None
                  ) -> Page[FeedbackOut]:
    items, total = meetings.list_feedback(db, actor=actor, project_id=project_id,
                                          meeting_id=meeting_id, status=status,
                                          limit=paging.limit, offset=paging.offset)
    return Page(items=[FeedbackOut.model_validate(i) for i in items], total=total,
                limit=paging.limit, offset=paging.offset)


@router.patch("/feedback/{item_id}", response_model=FeedbackOut)
def update_feedback(item_id: PathId, body: FeedbackUpdate, db: DbSession, actor: FeedbackOwner
                    ) -> FeedbackOut:
    return FeedbackOut.model_validate(meetings.update_feedback(db, item_id=item_id, actor=actor,
                                                               **body.model_dump()))


# --- service ratings -------------------------------------------------------------------


@router.post("/ratings", response_model=RatingOut, status_code=201)
def rate(body: RatingIn, db: DbSession, actor: Member) -> RatingOut:
    """Rate a completed service 1-5, once; a 1 or 2 opens a follow-up."""
    return RatingOut.model_validate(ratings.rate(db, actor=actor, **body.model_dump()))


@router.get("/ratings/summary", response_model=list[RatingSummary])
def rating_summary(db: ReadDbSession, actor: ServiceStaff, project_id: QueryId = None,
                   by_month: bool = False) -> list[RatingSummary]:
    """Average score, count and low scores per project, service and team (and month)."""
    return [RatingSummary(**r) for r in ratings.summary(db, project_id=project_id,
                                                        by_month=by_month)]


@router.get("/members/{member_id}/ratings", response_model=Page[RatingOut])
def member_ratings(member_id: PathId, db: DbSession, actor: AnyCaller, paging: Paging
                   ) -> Page[RatingOut]:
    items, total = ratings.my_ratings(db, member_id=member_id, actor=actor, limit=paging.limit,
                                      offset=paging.offset)
    return Page(items=[RatingOut.model_validate(r) for r in items], total=total,
                limit=paging.limit, offset=paging.offset)
