"""Serving a stored file as an audited download: the one way every module hands out uploads."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from luoshi.audit.models import AuditAction
from luoshi.audit.services import record, record_download
from luoshi.core.uploads import FileIntegrityError, stored_file_response


def serve_stored_file(request, stored, back):
    """``stored`` (loaded by the caller through its scoped selector), recorded as downloaded.

    A file that fails its SM3 check is refused, recorded as a failed download, and the user is sent
    back to ``back`` (a model with a URL, or a URL) with the reason.
    """
    try:
        response = stored_file_response(stored)
    except FileIntegrityError as error:
        record(
            action=AuditAction.DOWNLOAD,
            obj=stored,
            user=request.user,
            success=False,
            after={"reason": str(error)},
        )
        messages.error(
            request,
            _("文件「%(name)s」未通过完整性校验（%(reason)s），已停止下载。请联系系统管理员从备份恢复。")
            % {"name": stored.original_name, "reason": error},
        )
        return redirect(back)
    record_download(obj=stored, user=request.user)
    return response
