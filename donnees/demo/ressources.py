"""Ressources de la démonstration (issue 16, partie 1) : quelques liens vers des pages publiques réelles (guide de
l'Agence de l'eau Rhône Méditerranée Corse, Cerema, cours Oasis, Plus fraîche ma ville) et un appel à projets
d'exemple dont l'échéance tombe ``delai_appel_jours`` après la génération (il apparaît dans « Appels à projets à
échéance proche »). Aucun fichier. Chaque ressource est liée à la première opération validée de ses types de site.
Déclarées dans ``donnees/demo/ressources.json``."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

CHEMIN = Path(__file__).resolve().parent / "ressources.json"


def generer_ressources_demo(magasin, auteur: str, nom_auteur: str, aujourdhui: date | None = None) -> int:
    """Écrit les ressources de la démonstration dans ``magasin`` et leurs liens aux opérations ; renvoie leur
    nombre."""
    description = json.loads(CHEMIN.read_text(encoding="utf-8"))
    aujourdhui = aujourdhui or date.today()
    operations = magasin.lire_operations()
    validees = operations[operations["validation"].eq("validee").to_numpy(bool)].sort_values("id")
    for entree in description["ressources"]:
        saisie = {cle: entree[cle] for cle in ("genre", "titre", "resume", "url", "themes", "partagee_territoires")}
        if entree["genre"] == "appel_a_projets":
            saisie["echeance"] = aujourdhui + timedelta(days=int(description["delai_appel_jours"]))
        ident = magasin.creer_ressource(saisie, auteur, nom_auteur)
        choix = validees[validees["type_site"].isin(entree["types_site"]).to_numpy(bool)]
        if len(choix):
            magasin.lier_ressource(ident, int(choix.iloc[0]["id"]), auteur)
    return len(description["ressources"])
