"""Member governance: proposals, votes, meetings, ratings."""
