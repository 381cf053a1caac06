"""Satisfaction surveys: when one goes out, the signed links in it, ratings by web and mail, and the figures."""
