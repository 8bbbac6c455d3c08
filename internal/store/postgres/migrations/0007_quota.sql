-- Per-mailbox storage quotas, in bytes, as Exchange's Set-Mailbox names
-- them; NULL is Unlimited. IssueWarningQuota and ProhibitSendQuota are
-- shown and kept (Gatehouse sends no mail, so ProhibitSend only reports a
-- status); ProhibitSendReceiveQuota is enforced by every write that adds
-- mail to the mailbox (delivery, APPEND, COPY). The mailbox's size is the
-- sum of its folders' size counters, read under the mailbox's row lock.
ALTER TABLE mailboxes ADD COLUMN issue_warning_quota BIGINT CHECK (issue_warning_quota IS NULL OR issue_warning_quota > 0)
;
ALTER TABLE mailboxes ADD COLUMN prohibit_send_quota BIGINT CHECK (prohibit_send_quota IS NULL OR prohibit_send_quota > 0)
;
ALTER TABLE mailboxes ADD COLUMN prohibit_send_receive_quota BIGINT CHECK (prohibit_send_receive_quota IS NULL OR prohibit_send_receive_quota > 0)
;
