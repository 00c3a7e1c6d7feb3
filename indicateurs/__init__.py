"""Indicateurs : calculs purs sur des (Geo)DataFrames, catalogue et paramètres."""
