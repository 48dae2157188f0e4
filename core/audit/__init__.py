"""The audit trail: which models are audited (registry), the signal handlers that record
their writes (signals), appending and sealing the chain (services), verifying it
(verification) against anchors kept outside it (anchors), with the sealing keys (keys)."""
