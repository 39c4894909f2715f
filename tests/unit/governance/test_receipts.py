from hypothesis import given
from hypothesis import strategies as st

from mutua.governance import receipts


def test_receipt_binds_proposal_choice_and_secret():
    s = receipts.new_secret()
    r = receipts.receipt_for(proposal_id=1, choice=("yes",), secret=s)
    assert receipts.verify(proposal_id=1, choice=("yes",), secret=s, receipt=r)
    assert not receipts.verify(proposal_id=2, choice=("yes",), secret=s, receipt=r)
    assert not receipts.verify(proposal_id=1, choice=("no",), secret=s, receipt=r)
    assert not receipts.verify(proposal_id=1, choice=("yes",), secret=receipts.new_secret(),
                               receipt=r)


def test_fresh_secrets_differ_so_equal_choices_get_different_receipts():
    a = receipts.receipt_for(proposal_id=1, choice=("yes",), secret=receipts.new_secret())
    b = receipts.receipt_for(proposal_id=1, choice=("yes",), secret=receipts.new_secret())
    assert a != b


def test_secret_text_round_trip_and_bad_text():
    s = receipts.new_secret()
    assert receipts.secret_from_text(receipts.secret_to_text(s)) == s
    assert receipts.secret_from_text("zz") is None
    assert receipts.secret_from_text("ab" * 31) is None


@given(st.lists(st.sampled_from(["a", "b", "c1", "x_2"]), min_size=1, max_size=3, unique=True))
def test_choice_encoding_round_trips(choice):
    assert receipts.decode_choice(receipts.encode_choice(choice)) == tuple(choice)
