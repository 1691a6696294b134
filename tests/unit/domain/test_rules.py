"""The invariants of DESIGN.md §2 as pure functions: no database, no HTTP."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import rules
from app.domain.conflicts import (
    AlreadyMember,
    MemberCannotBePortal,
    MemberHasMappings,
    PortalCannotBeMember,
    PortalHasMembers,
    PortalNotReady,
    SelfMembership,
)
from app.domain.errors import Conflict
from app.domain.rules import InstanceFacts


def facts(name="tt_x", setting=None, comms=True, member_of=None, members=0):
    return InstanceFacts(
        name=name,
        portal_setting=setting,
        communications_enabled=comms,
        member_of=member_of,
        member_count=members,
    )


READY_PORTAL = facts("tt_portal", setting="portal", comms=False)


class TestKind:
    def test_portal_member_standalone(self):
        assert facts(setting="portal").kind == "portal"
        assert facts(member_of="tt_portal").kind == "member"
        assert facts().kind == "standalone"
        assert facts(setting="something else").kind == "standalone"


class TestUnmetRequirements:
    def test_ready_portal_has_none(self):
        assert rules.unmet_requirements("portal", False) == []

    def test_lists_every_unmet_requirement(self):
        codes = [r.code for r in rules.unmet_requirements(None, True)]
        assert codes == ["portal-instance-name", "communications-enabled"]

    def test_wrong_value_is_shown(self):
        (requirement,) = rules.unmet_requirements("Portal", False)
        assert "'Portal'" in requirement.message


class TestAddMember:
    def test_ready_portal_takes_a_standalone_instance(self):
        rules.check_can_add_member(READY_PORTAL, facts("tt_m1"))

    def test_invariant_1_not_ready_lists_every_unmet_requirement(self):
        with pytest.raises(PortalNotReady) as caught:
            rules.check_can_add_member(facts("tt_p"), facts("tt_m1"))
        codes = [r["code"] for r in caught.value.extensions["unmet_requirements"]]
        assert codes == ["portal-instance-name", "communications-enabled"]

    def test_invariant_1_communications_on(self):
        with pytest.raises(PortalNotReady) as caught:
            rules.check_can_add_member(facts("tt_p", setting="portal", comms=True), facts("tt_m1"))
        assert [r["code"] for r in caught.value.extensions["unmet_requirements"]] == [
            "communications-enabled"
        ]

    def test_invariant_3_a_portal_cannot_be_a_member(self):
        with pytest.raises(PortalCannotBeMember):
            rules.check_can_add_member(READY_PORTAL, facts("tt_other", setting="portal", comms=False))

    def test_invariant_3_member_of_at_most_one_portal(self):
        with pytest.raises(AlreadyMember) as caught:
            rules.check_can_add_member(READY_PORTAL, facts("tt_m1", member_of="tt_elsewhere"))
        assert "tt_elsewhere" in caught.value.detail
        assert caught.value.extensions["portal"] == "tt_elsewhere"

    def test_already_member_of_this_portal(self):
        with pytest.raises(AlreadyMember) as caught:
            rules.check_can_add_member(READY_PORTAL, facts("tt_m1", member_of="tt_portal"))
        assert "this portal" in caught.value.detail

    def test_not_itself(self):
        with pytest.raises(SelfMembership):
            rules.check_can_add_member(READY_PORTAL, READY_PORTAL)

    def test_a_member_cannot_take_members(self):
        portal_that_is_member = facts("tt_p", setting=None, comms=False, member_of="tt_top")
        with pytest.raises(PortalNotReady):
            rules.check_can_add_member(portal_that_is_member, facts("tt_m1"))


class TestSettingChange:
    def test_unrelated_keys_are_free(self):
        rules.check_setting_change(facts(setting="portal", members=3), "timezone", "Europe/Madrid")
        rules.check_setting_change(facts(setting="portal", members=3), "timezone", None)

    def test_setting_portal_with_communications_on_is_allowed(self):
        rules.check_setting_change(facts(comms=True), "portalInstanceName", "portal")

    def test_invariant_3_a_member_cannot_become_a_portal(self):
        with pytest.raises(MemberCannotBePortal):
            rules.check_setting_change(facts(member_of="tt_portal"), "portalInstanceName", "portal")

    def test_a_member_may_hold_another_value(self):
        rules.check_setting_change(facts(member_of="tt_portal"), "portalInstanceName", "not-a-portal")

    @pytest.mark.parametrize("new_value", [None, "other", "Portal"])
    def test_invariant_2_portal_with_members_keeps_its_name(self, new_value):
        with pytest.raises(PortalHasMembers):
            rules.check_setting_change(
                facts(setting="portal", comms=False, members=1), "portalInstanceName", new_value
            )

    def test_same_value_is_no_change(self):
        rules.check_setting_change(
            facts(setting="portal", comms=False, members=1), "portalInstanceName", "portal"
        )

    def test_portal_without_members_may_be_renamed(self):
        rules.check_setting_change(facts(setting="portal", comms=False), "portalInstanceName", None)


class TestCommunications:
    def test_invariant_2_portal_with_members_stays_silent(self):
        with pytest.raises(PortalHasMembers):
            rules.check_communications_change(facts(setting="portal", comms=False, members=2), True)

    def test_switching_off_is_always_allowed(self):
        rules.check_communications_change(facts(setting="portal", comms=False, members=2), False)

    def test_portal_without_members_and_standalone_may_switch_on(self):
        rules.check_communications_change(facts(setting="portal", comms=False), True)
        rules.check_communications_change(facts(member_of="tt_portal"), True)


class TestDemoteAndDelete:
    def test_invariant_6_demoting_with_members_needs_cascade(self):
        with pytest.raises(PortalHasMembers):
            rules.check_can_demote(facts(setting="portal", members=1), cascade=False)
        rules.check_can_demote(facts(setting="portal", members=1), cascade=True)
        rules.check_can_demote(facts(setting="portal"), cascade=False)

    def test_deleting_a_portal_with_members_needs_cascade(self):
        with pytest.raises(PortalHasMembers):
            rules.check_can_delete_instance(facts(setting="portal", members=1), cascade=False)
        rules.check_can_delete_instance(facts(setting="portal", members=1), cascade=True)
        rules.check_can_delete_instance(facts(member_of="tt_portal"), cascade=False)

    def test_promote_refuses_members(self):
        with pytest.raises(MemberCannotBePortal):
            rules.check_can_promote(facts(member_of="tt_portal"))
        rules.check_can_promote(facts())


class TestMessages:
    def test_kind_of_a_portal_that_is_also_recorded_as_a_member_is_portal(self):
        assert rules.kind_of("portal", "tt_top") == "portal"
        assert rules.kind_of("other", "tt_top") == "member"
        assert rules.kind_of(None, None) == "standalone"

    def test_unmet_requirements_say_what_is_wrong(self):
        assert rules.unmet_requirements(None, True) == [
            rules.Requirement(
                "portal-instance-name", "setting portalInstanceName must be 'portal' (is unset)"
            ),
            rules.Requirement(
                "communications-enabled", "the general switch for automatic SMS, voice and e-mail must be off"
            ),
        ]

    def test_a_portal_not_ready_lists_every_reason_in_its_detail(self):
        with pytest.raises(PortalNotReady) as caught:
            rules.check_can_add_member(facts("tt_p", setting="x"), facts("tt_m1"))
        assert caught.value.detail == (
            "tt_p is not ready: setting portalInstanceName must be 'portal' (is 'x'); "
            "the general switch for automatic SMS, voice and e-mail must be off"
        )

    def test_a_member_that_would_take_members_is_named(self):
        with pytest.raises(PortalNotReady) as caught:
            rules.check_can_add_member(
                facts("tt_p", setting="portal", comms=False, member_of="tt_top"), facts("tt_m")
            )
        assert caught.value.detail == "tt_p is a member of portal tt_top and cannot take members"
        assert caught.value.extensions["unmet_requirements"] == [
            {"code": "is-member", "message": "tt_p is a member"}
        ]

    def test_already_member_of_another_portal_names_it(self):
        with pytest.raises(AlreadyMember) as caught:
            rules.check_can_add_member(READY_PORTAL, facts("tt_m1", member_of="tt_other"))
        assert caught.value.detail == "tt_m1 is already a member of portal tt_other"

    def test_self_membership_comes_first(self):
        with pytest.raises(SelfMembership, match="tt_portal cannot be a member of itself"):
            rules.check_can_add_member(READY_PORTAL, READY_PORTAL)

    def test_portal_cannot_be_member_names_it(self):
        with pytest.raises(PortalCannotBeMember) as caught:
            rules.check_can_add_member(READY_PORTAL, facts("tt_q", setting="portal"))
        assert caught.value.detail == "tt_q is a portal and cannot be a member of another portal"

    def test_setting_change_errors_carry_their_extensions(self):
        with pytest.raises(MemberCannotBePortal) as caught:
            rules.check_setting_change(facts("tt_m", member_of="tt_p"), "portalInstanceName", "portal")
        assert caught.value.extensions == {"portal": "tt_p"}
        assert caught.value.detail == "tt_m is a member of portal tt_p and cannot become a portal"
        with pytest.raises(PortalHasMembers) as has_members:
            rules.check_setting_change(facts("tt_p", setting="portal", members=2), "portalInstanceName", None)
        assert has_members.value.extensions == {"member_count": 2}
        assert (
            has_members.value.detail
            == "tt_p has 2 member(s); portalInstanceName cannot change while it has members"
        )

    def test_communications_and_demotion_messages(self):
        portal = facts("tt_p", setting="portal", comms=False, members=3)
        with pytest.raises(PortalHasMembers) as caught:
            rules.check_communications_change(portal, True)
        assert caught.value.detail == "tt_p has 3 member(s); its communications cannot be switched on"
        with pytest.raises(PortalHasMembers) as caught:
            rules.check_can_demote(portal, cascade=False)
        assert caught.value.detail == "tt_p has 3 member(s); remove them first or repeat with ?cascade=true"
        assert caught.value.extensions == {"member_count": 3}


class TestDetachMember:
    def test_invariant_6_a_member_with_mappings_leaves_only_with_cascade(self):
        with pytest.raises(MemberHasMappings) as caught:
            rules.check_can_detach_member("tt_m1", 2, cascade=False)
        assert caught.value.detail == "tt_m1 has 2 mapping(s); remove them first or repeat with ?cascade=true"
        assert caught.value.extensions == {"mapping_count": 2}
        rules.check_can_detach_member("tt_m1", 2, cascade=True)
        rules.check_can_detach_member("tt_m1", 0, cascade=False)


# --- The invariants as properties: each check refuses exactly what the invariant forbids ------------------

SETTINGS = [None, "portal", "Portal", "other"]
any_facts = st.builds(
    InstanceFacts,
    name=st.sampled_from(["tt_a", "tt_b"]),
    portal_setting=st.sampled_from(SETTINGS),
    communications_enabled=st.booleans(),
    member_of=st.sampled_from([None, "tt_a", "tt_b", "tt_c"]),
    member_count=st.integers(0, 3),
)


def refusal(check, *args):
    try:
        check(*args)
    except Conflict as exc:
        refused = exc
    else:
        return None
    assert refused.status == 409
    return type(refused)


@given(any_facts, any_facts)
def test_adding_a_member_is_refused_exactly_when_an_invariant_would_break(portal, member):
    expected = (
        SelfMembership
        if portal.name == member.name
        else PortalCannotBeMember  # invariant 3: a portal is no member
        if member.portal_setting == "portal"
        else AlreadyMember  # invariant 3: a member of one portal only
        if member.member_of is not None
        else PortalNotReady  # invariant 1: a ready portal, not itself a member
        if portal.member_of is not None or portal.portal_setting != "portal" or portal.communications_enabled
        else None
    )
    assert refusal(rules.check_can_add_member, portal, member) is expected


@given(any_facts, st.sampled_from(["portalInstanceName", "timezone"]), st.sampled_from(SETTINGS))
def test_a_setting_change_is_refused_exactly_when_an_invariant_would_break(instance, key, value):
    changes = key == "portalInstanceName" and value != instance.portal_setting
    expected = (
        MemberCannotBePortal  # invariant 3
        if changes and value == "portal" and instance.member_of is not None
        else PortalHasMembers  # invariant 2: a portal with members stays one
        if changes and instance.is_portal and instance.member_count > 0
        else None
    )
    assert refusal(rules.check_setting_change, instance, key, value) is expected
    if key == "portalInstanceName" and value == "portal":
        assert refusal(rules.check_can_promote, instance) is expected


@given(any_facts, st.booleans())
def test_communications_are_refused_exactly_for_a_portal_with_members(instance, enabled):
    refused = enabled and instance.is_portal and instance.member_count > 0
    assert refusal(rules.check_communications_change, instance, enabled) is (
        PortalHasMembers if refused else None
    )


@given(any_facts, st.booleans())
def test_demoting_or_deleting_needs_a_cascade_exactly_when_there_are_members(instance, cascade):
    needs = instance.member_count > 0 and not cascade
    assert refusal(rules.check_can_demote, instance, cascade) is (PortalHasMembers if needs else None)
    deleting = needs and instance.is_portal
    assert refusal(rules.check_can_delete_instance, instance, cascade) is (
        PortalHasMembers if deleting else None
    )


@given(st.integers(0, 5), st.booleans())
def test_detaching_needs_a_cascade_exactly_when_there_are_mappings(mappings, cascade):
    refused = mappings > 0 and not cascade
    assert refusal(rules.check_can_detach_member, "tt_m", mappings, cascade) is (
        MemberHasMappings if refused else None
    )
