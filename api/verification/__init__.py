"""Performer identity records: ID images and a selfie, reviewed before anyone goes on camera.

`upload` (pure) reads and checks a submission, `cipher` encrypts the images at rest, `store`
keeps the append-only records, `provider` is the identity-provider interface with its built-in
manual-review provider, and `routes` serves ``/api/v1/verification``.
"""
