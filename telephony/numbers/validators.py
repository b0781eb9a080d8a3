"""The one rule for an area code, wherever one is given (the numbers API and portal, billing's preferences, the
purchase seam): what Twilio's AreaCode filter takes for the countries that have them."""

from django.core.validators import RegexValidator

AREA_CODE_PATTERN = r"^\d{2,5}$"
AREA_CODE_MESSAGE = "Digits only, 2 to 5 of them (e.g. 212)."

validate_area_code = RegexValidator(AREA_CODE_PATTERN, AREA_CODE_MESSAGE, code="invalid")
