"""Données de Désimper : schémas, référentiel, magasin des opérations, démonstration."""
