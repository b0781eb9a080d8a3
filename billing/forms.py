from django import forms

from telephony.numbers.validators import validate_area_code


class NumberPreferencesForm(forms.Form):
    """Where the plan's auto-provisioned numbers come from."""

    number_country = forms.CharField(label="Country", max_length=2, initial="US")
    number_area_code = forms.CharField(label="Area code", required=False, validators=[validate_area_code])

    def clean_number_country(self) -> str:
        country = self.cleaned_data["number_country"].upper()
        if len(country) != 2 or not country.isalpha():
            raise forms.ValidationError("A two-letter country code, such as US.")
        return country
