"""A policy-change case links to the version it proposes, where the reviewer sees its values and the diff."""

from kehu.core.policies.models import PolicyVersion


def test_version_links_to_its_page():
    assert PolicyVersion(type_key="workflow.reminders", number=2).get_absolute_url() == (
        "/policies/workflow.reminders/v/2/"
    )
