from rolesync.planner import (
    GuildMember,
    LinkedUser,
    MilestoneRule,
    Plan,
    Standing,
    TrackRule,
    desired_roles,
    exceeds_brake,
    plan_changes,
)

TOP_10, TOP_100, ONE_K, FIVE_K, WEEKLY_TOP_3, UNMANAGED = "101", "102", "201", "202", "301", "999"

TRACKS = [
    TrackRule.build(
        name="Rank tiers",
        exclusive=True,
        milestones=[
            MilestoneRule("Top 100", TOP_100, "all", max_rank=100),
            MilestoneRule("Top 10", TOP_10, "all", max_rank=10),
        ],
    ),
    TrackRule.build(
        name="Score",
        exclusive=False,
        milestones=[
            MilestoneRule("1k club", ONE_K, "all", min_score=1000),
            MilestoneRule("5k club", FIVE_K, "all", min_score=5000),
        ],
    ),
    TrackRule.build(
        name="Weekly",
        exclusive=True,
        milestones=[MilestoneRule("Weekly top 3", WEEKLY_TOP_3, "week", max_rank=3)],
    ),
]


def plan_for(members, *, standings, linked=None, untouchable=()):
    linked = (
        linked
        if linked is not None
        else {m.discord_id: LinkedUser(int(m.discord_id), m.name) for m in members}
    )
    return plan_changes(
        tracks=TRACKS, standings=standings, linked=linked, untouchable=untouchable, members=members
    )


def changes(plan: Plan):
    return sorted((c.discord_id, c.role_id, "+" if c.add else "-") for c in plan.changes)


def test_a_member_who_reaches_a_milestone_gains_its_role():
    plan = plan_for([GuildMember("1", [], "alice")], standings={"all": {1: Standing(50, 10)}})
    assert changes(plan) == [("1", TOP_100, "+")]
    assert plan.changes[0].member_name == "alice"


def test_a_member_who_drops_out_loses_the_role():
    plan = plan_for([GuildMember("1", [TOP_100], "bob")], standings={"all": {1: Standing(150, 10)}})
    assert changes(plan) == [("1", TOP_100, "-")]


def test_an_exclusive_track_upgrade_swaps_top_100_for_top_10():
    plan = plan_for([GuildMember("1", [TOP_100], "carol")], standings={"all": {1: Standing(7, 10)}})
    assert changes(plan) == [("1", TOP_10, "+"), ("1", TOP_100, "-")]
    # The old tier goes first, so the member never shows both tiers at once.
    assert [c.add for c in plan.changes] == [False, True]


def test_a_cumulative_track_gives_every_role_earned():
    assert desired_roles(1, tracks=TRACKS, standings={"all": {1: Standing(500, 6000)}}) == {ONE_K, FIVE_K}


def test_milestones_read_the_snapshot_of_their_own_period():
    standings = {"all": {1: Standing(500, 0)}, "week": {1: Standing(2, 0)}}
    assert desired_roles(1, tracks=TRACKS, standings=standings) == {WEEKLY_TOP_3}
    assert desired_roles(1, tracks=TRACKS, standings={"all": {1: Standing(2, 0)}}) == {TOP_10}


def test_unmanaged_roles_are_never_touched():
    plan = plan_for([GuildMember("1", [UNMANAGED, TOP_10], "dan")], standings={"all": {1: Standing(3, 0)}})
    assert plan.changes == []
    plan = plan_for([GuildMember("1", [UNMANAGED], "dan")], standings={})
    assert plan.changes == []


def test_a_member_already_holding_the_right_roles_needs_no_change():
    plan = plan_for([GuildMember("1", [TOP_10, ONE_K], "erin")], standings={"all": {1: Standing(1, 1500)}})
    assert plan.changes == []
    assert (plan.members_checked, plan.members_in_scope, plan.members_changed) == (1, 1, 0)


def test_an_unlinked_or_deactivated_member_loses_every_managed_role_and_nothing_else():
    members = [GuildMember("1", [TOP_10, ONE_K, UNMANAGED], "frank")]
    plan = plan_for(members, standings={"all": {1: Standing(1, 5000)}}, linked={})
    assert changes(plan) == [("1", TOP_10, "-"), ("1", ONE_K, "-")]


def test_an_excluded_member_is_left_alone_whatever_they_hold():
    members = [GuildMember("1", [TOP_10], "gina")]
    plan = plan_for(members, standings={}, linked={}, untouchable={"1"})
    assert plan.changes == []
    assert plan.members_in_scope == 0


def test_in_an_exclusive_mixed_track_rank_milestones_beat_score_milestones():
    track = TrackRule.build(
        name="Mixed",
        exclusive=True,
        milestones=[
            MilestoneRule("Big scorer", "1", "all", min_score=100),
            MilestoneRule("Top 5", "2", "all", max_rank=5),
            MilestoneRule("Huge scorer", "3", "all", min_score=1000),
        ],
    )
    assert desired_roles(1, tracks=[track], standings={"all": {1: Standing(4, 5000)}}) == {"2"}
    assert desired_roles(1, tracks=[track], standings={"all": {1: Standing(9, 5000)}}) == {"3"}
    assert desired_roles(1, tracks=[track], standings={"all": {1: Standing(9, 500)}}) == {"1"}


def test_the_brake_needs_both_a_large_share_and_enough_changes():
    many = Plan(changes=[object()] * 30, members_in_scope=100, members_changed=30)
    few = Plan(changes=[object()] * 24, members_in_scope=100, members_changed=24)
    small_share = Plan(changes=[object()] * 30, members_in_scope=1000, members_changed=30)
    assert exceeds_brake(many, share=0.10, min_changes=25)
    assert not exceeds_brake(few, share=0.10, min_changes=25)
    assert not exceeds_brake(small_share, share=0.10, min_changes=25)
