"""Kehu (客户): customer governance for B2B companies."""
