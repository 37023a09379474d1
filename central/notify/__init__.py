"""Notifications: channels, delivery with retries, delivery log."""
