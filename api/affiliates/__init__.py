"""Affiliates: referral codes and links, attribution at sign-up, and stats read from the ledger."""
