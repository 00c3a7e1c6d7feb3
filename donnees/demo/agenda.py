"""Agenda de la démonstration (issue 16, partie 3) : quelques événements réalistes (``agenda_demo.json``), dont un
passé, avec des inscriptions des comptes de démonstration. Dates relatives au jour de génération."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import shapely

from donnees.agenda import paris_vers_utc
from donnees.geometrie import vers_wgs84

CHEMIN_AGENDA_DEMO = Path(__file__).resolve().parent / "agenda_demo.json"


def _point_commune(contours: dict, code: str) -> tuple[float, float] | None:
    contour = contours.get(code)
    if contour is None:
        return None
    point = vers_wgs84(shapely.points([contour.representative_point().coords[0]]))[0]
    return round(float(point.x), 6), round(float(point.y), 6)


def generer_agenda_demo(magasin, contours_l93: dict, maintenant: datetime | None = None) -> int:
    """Écrit les événements de la démonstration dans ``magasin`` (contours des communes en Lambert-93 pour
    placer les lieux) ; renvoie leur nombre. Un événement passé est écrit sans notification « à venir » utile :
    les comptes de démonstration sont créés après."""
    declaration = json.loads(CHEMIN_AGENDA_DEMO.read_text(encoding="utf-8"))
    maintenant = maintenant or datetime.now(UTC).replace(tzinfo=None)
    operations = magasin.lire_operations()
    operations = operations[operations["validation"].eq("validee").to_numpy(bool)
                            & ~operations["supprimee"].astype(bool).to_numpy()]
    zones = magasin.lire_zones()
    nombre = 0
    for entree in declaration["evenements"]:
        jour = (maintenant + timedelta(days=int(entree["jours"]))).date()
        debut = paris_vers_utc(jour, time.fromisoformat(entree["heure"]))
        saisie = {"genre": entree["genre"], "titre": entree["titre"], "sujet": entree.get("sujet"),
                  "debut": debut, "fin": debut + timedelta(minutes=int(entree["duree_minutes"])),
                  "lieu": entree.get("lieu"), "en_ligne": bool(entree.get("en_ligne")), "url": entree.get("url"),
                  "places_max": entree.get("places_max"),
                  "partage_territoires": bool(entree.get("partage_territoires"))}
        liens = {}
        candidates = operations[operations["type_site"].eq(entree.get("operation_type_site")).to_numpy(bool)] \
            if entree.get("operation_type_site") else operations.iloc[0:0]
        if len(candidates):
            operation = candidates.sort_values("id").iloc[0]
            liens["operation"] = [int(operation["id"])]
            leurs_zones = zones[zones["operation_id"].eq(int(operation["id"])).to_numpy(bool)]
            if len(leurs_zones) and not entree.get("commune"):  # visite : sur le site de l'opération
                centre = leurs_zones.to_crs(4326).geometry.union_all().centroid
                saisie.update(longitude=round(float(centre.x), 6), latitude=round(float(centre.y), 6))
                saisie["lieu"] = f"{entree['lieu']} — {operation['nom']}"
        if entree.get("ressource_theme"):  # supports de l'atelier : ressources publiées de ce thème
            ressources = magasin.lire_ressources(inclure_masquees=False)
            liees = ressources[ressources["themes"].map(lambda t, th=entree["ressource_theme"]: th in t)
                               .to_numpy(bool)]
            if len(liees):
                liens["ressource"] = sorted(int(i) for i in liees["id"])
        if entree.get("commune"):
            point = _point_commune(contours_l93, str(entree["commune"]))
            if point is not None:
                saisie.update(longitude=point[0], latitude=point[1])
        ident = magasin.creer_evenement(saisie, declaration["auteur"], liens)
        for email in entree.get("inscrits", []):
            magasin.inscrire_evenement(ident, email, email.split("@")[0].replace(".", " ").capitalize(),
                                       maintenant=min(maintenant, debut - timedelta(days=1)))
        nombre += 1
    return nombre
