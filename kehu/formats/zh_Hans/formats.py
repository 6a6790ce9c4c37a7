"""Simplified Chinese number formats for business documents: amounts grouped in thousands with commas
(1,234,567.50), as on invoices and statements; Django's own zh_Hans leaves numbers ungrouped. Dates as Django's."""

from django.conf.locale.zh_Hans.formats import *  # noqa: F403

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
