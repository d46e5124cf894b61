"""Demo milestones for `seed_demo`: rank tiers and point badges, on the Discord sandbox's role ids.

The role ids are roles of the sandbox community (`seed_demo` hands them to the sandbox), so they only
mean something in the sandbox: `seed_demo` loads them when `make run` runs without a real Discord.
"""

from accounts.models import AuditEvent
from rolesync import services
from rolesync.models import MilestoneTrack

DEMO_MILESTONES = {
    "tracks": [
        {
            "name": "Rank tiers",
            "exclusive": True,
            "milestones": [
                {
                    "name": "Champion",
                    "discord_role_id": "1400000000000000011",
                    "period": "all",
                    "max_rank": 1,
                },
                {"name": "Top 3", "discord_role_id": "1400000000000000012", "period": "all", "max_rank": 3},
            ],
        },
        {
            "name": "Point badges",
            "exclusive": False,
            "milestones": [
                {
                    "name": "Veteran",
                    "discord_role_id": "1400000000000000013",
                    "period": "all",
                    "min_score": 1000,
                },
                {
                    "name": "Rising star",
                    "discord_role_id": "1400000000000000014",
                    "period": "all",
                    "min_score": 250,
                },
            ],
        },
    ]
}


def seed_demo_milestones() -> bool:
    """Load the demo milestones unless milestones are already configured; True when it loaded them."""
    if MilestoneTrack.objects.exists():
        return False
    services.import_milestones(data=DEMO_MILESTONES, actor=None, source=AuditEvent.Source.CLI)
    return True
