"""What the supervision module does when something happens in the modules below it.

Ledgers may not import supervision ("nothing imports upwards"), so its report submission publishes the
``report_submitted`` signal (``luoshi.ledgers.signals``) and supervision listens here. The receiver runs
inside the submitting transaction: an instruction is answered exactly when the report is submitted.
"""

from django.dispatch import receiver

from luoshi.ledgers.signals import report_submitted
from luoshi.supervision import services


@receiver(report_submitted, dispatch_uid="supervision.answer_instructions")
def answer_instructions_on_submission(sender, *, report, user, at, **kwargs):
    services.answer_instructions(report=report, user=user, now=at)
