"""Tests of snn_rram.ann."""
