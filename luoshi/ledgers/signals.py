"""Extension points the ledgers module publishes to the modules above it.

Modules above ledgers (supervision, …) may react to what happens here, but ledgers must never import
them: a signal lets them listen without ledgers knowing who does.
"""

from django.dispatch import Signal

# Sent inside the submitting transaction, after the report is stored as submitted and counted on its
# item. Keyword arguments: ``report`` (the ProgressReport), ``user`` (who submitted it) and ``at``
# (the submission time). A receiver's error rolls the submission back, so receivers must only write.
report_submitted = Signal()
