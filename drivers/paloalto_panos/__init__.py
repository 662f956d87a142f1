"""PAN-OS driver (security rules, named snapshot + guarded commit + controller-side watchdog)."""
