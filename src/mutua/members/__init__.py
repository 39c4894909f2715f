"""Members (会员): registration, ID checks, bulk enrolment."""
