"""Torch-free numpy networks that are trained on the multi-task world and checked against theory."""
