"""GDPR: data exports and account erasure over a registry of where personal data lives.

`registry` is the contract packages implement; `packages` imports every registration;
`exports` runs export jobs (zip built in a thread); `erasure` erases an account in one
database transaction, then `cleanup` removes storage objects and Redis entries; `routes` is
the HTTP API (``/api/v1/me/export``, ``/api/v1/me/exports/{id}``, ``DELETE /api/v1/me``,
``POST /api/v1/admin/users/{userId}/erase``).
"""
