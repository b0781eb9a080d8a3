import re

from django.core.exceptions import ValidationError

SLUG_MAX_LENGTH = 40
_SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")

# Subdomains that belong to the platform itself, or that users would mistake for it.
RESERVED_SLUGS = frozenset(
    {
        "admin",
        "api",
        "app",
        "assets",
        "auth",
        "billing",
        "blog",
        "cdn",
        "dashboard",
        "dev",
        "docs",
        "ftp",
        "help",
        "imap",
        "localhost",
        "login",
        "mail",
        "media",
        "ns1",
        "ns2",
        "pop",
        "portal",
        "public",
        "root",
        "signup",
        "smtp",
        "staff",
        "staging",
        "static",
        "status",
        "stripe",
        "support",
        "switchboard",
        "system",
        "template",
        "tenant",
        "twilio",
        "webhooks",
        "www",
    }
)


def validate_tenant_slug(slug: str) -> None:
    if not slug:
        raise ValidationError("The slug is required.", code="required")
    if len(slug) > SLUG_MAX_LENGTH:
        raise ValidationError(f"The slug can be at most {SLUG_MAX_LENGTH} characters long.", code="max_length")
    if not _SLUG_PATTERN.match(slug):
        raise ValidationError(
            "Use lowercase letters, digits and hyphens only, starting and ending with a letter or digit.",
            code="invalid",
        )
    if "--" in slug:
        # "xn--" and friends are punycode; double hyphens are refused outright.
        raise ValidationError("The slug cannot contain two hyphens in a row.", code="invalid")
    if slug in RESERVED_SLUGS:
        raise ValidationError(f"'{slug}' is reserved by the platform; choose another slug.", code="reserved")


def schema_name_for_slug(slug: str) -> str:
    """Slugs never contain underscores, so swapping hyphens for them cannot make two slugs collide."""
    return "t_" + slug.replace("-", "_")
