"""Transactional tests must leave the rows that migrations create for the next test."""

import pytest
from django.contrib.auth.models import Group

from accounts.roles import ROLES
from cms.models import BuyerStage, LibraryPage, Pillar


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", [1, 2])
def test_migration_data_survives_a_transactional_test(round_):
    assert BuyerStage.objects.count() == 4
    assert Pillar.objects.count() == 3
    assert LibraryPage.objects.filter(depth=2).exists()
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)
    Pillar.objects.all().delete()  # the flush after this test must not leak into the next
