"""Reports and the moderation queue: complaints by members, actions by moderators, appeals.

`actions` (pure) decides what an action does to a target and whether an account may sign in;
`store` keeps reports, appeals and the append-only ``moderation_log``; `routes` serves
``/api/v1/reports``, ``/api/v1/appeals`` and ``/api/v1/moderation/...``.
"""
