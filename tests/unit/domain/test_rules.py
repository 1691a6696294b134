"""The invariants of DESIGN.md §2 as pure functions: no database, no HTTP."""

import pytest

from app.domain import rules
from app.domain.errors import (
    AlreadyMember,
    MemberCannotBePortal,
    PortalCannotBeMember,
    PortalHasMembers,
    PortalNotReady,
    SelfMembership,
)
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
