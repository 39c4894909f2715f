"""The self-service test app of the pages' tests (its SMS file and code limits), shared."""

from tests.integration.web.test_signup import portal, sms_file  # noqa: F401
