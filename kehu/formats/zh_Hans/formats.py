"""Simplified Chinese formats for business documents: amounts grouped in thousands with commas (1,234,567.50), as
on invoices and statements (Django's own zh_Hans leaves numbers ungrouped); dates as 2026-11-25, as the rest of the
pages write them (Django's own zh_Hans writes 2026年11月25日)."""

from django.conf.locale.zh_Hans.formats import *  # noqa: F403

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
