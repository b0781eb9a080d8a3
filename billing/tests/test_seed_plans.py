import io

import pytest
from django.core.management import call_command

from billing.models import Plan

pytestmark = pytest.mark.django_db


def test_the_default_plans_are_created_once_and_edits_are_kept() -> None:
    call_command("seed_plans", stdout=io.StringIO())
    Plan.objects.filter(name="Starter").update(included_numbers=9)
    out = io.StringIO()
    call_command("seed_plans", stdout=out)

    assert sorted(Plan.objects.values_list("name", "included_numbers")) == [("Business", 3), ("Starter", 9)]
    assert out.getvalue().split() == ["Starter:", "kept", "Business:", "kept"]
