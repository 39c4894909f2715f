"""Members (会员): registration, ID checks, their accounts, sign-in and sign-up."""
