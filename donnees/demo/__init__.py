"""Territoire de démonstration : les 25 communes réelles du bassin de Thau, parcellaire synthétique plausible.

Écrit dans un dossier de données les couches du référentiel (communes, communes simplifiées,
parcelles, occupation du sol, objectifs, nouvelles surfaces imperméabilisées, couches de critères du potentiel :
sols, nappe, sites pollués, captages, cavités), le fichier du territoire,
des photos générées et environ 1 000 opérations dans le magasin.

Les noms, codes INSEE, populations et contours des communes sont réels (IGN ADMIN EXPRESS, fichier
``communes-bassin-thau.geojson`` embarqué, sources dans ``sources_demo.json``) ; l'étang de Thau est un tracé
approché retiré des communes riveraines ; parcelles (découpage k-d autour de plusieurs noyaux urbains par
commune), occupation du sol et opérations sont inventées.
Tout est reproductible : même graine, mêmes couches et mêmes opérations (seul ``genere_le`` change).
Les calculs se font en Lambert-93 (EPSG:2154) ; les couches sont écrites en WGS84 (EPSG:4326).
Les nombres du modèle sont dans ``parametres_demo.json``, les textes dans ``textes_demo.json``.

Modules : :mod:`.parametres` (fichiers du paquet), :mod:`.communes` (étang, communes, bassin, noyaux),
:mod:`.parcellaire` (îlots et parcelles), :mod:`.occupation` (occupation du sol), :mod:`.objectifs`
(objectifs et nouvelles surfaces), :mod:`.criteres` (couches de critères du potentiel), :mod:`.operations`,
:mod:`.photos` et :mod:`.orchestration` (:func:`generer_demo`). Les aides géométriques vivent dans
:mod:`donnees.geometrie`.
"""

from donnees.demo.communes import (
    calculer_distance_relative,
    calculer_rayons_urbains,
    calculer_surface_cible,
    construire_bassin,
    construire_lagune,
    generer_communes,
    lire_contours_communes,
    placer_noyaux,
)
from donnees.demo.objectifs import generer_nouvelles_surfaces, generer_objectifs
from donnees.demo.occupation import generer_occupation
from donnees.demo.operations import generer_operations, repartir_operations
from donnees.demo.orchestration import generer_demo
from donnees.demo.parametres import DOSSIER_DEMO, TAILLES, lire_communes_demo, lire_parametres, lire_textes
from donnees.demo.parcellaire import decouper_cellules, generer_parcelles, numeroter_parcelles
from donnees.demo.photos import POLICES_PHOTO, dessiner_photo, generer_photos
from donnees.geometrie import extraire_polygones, repartir_par_commune
from donnees.geometrie import vers_wgs84 as projeter_wgs84

__all__ = [
    "DOSSIER_DEMO", "POLICES_PHOTO", "TAILLES", "calculer_distance_relative", "calculer_rayons_urbains",
    "calculer_surface_cible", "construire_bassin", "construire_lagune", "decouper_cellules", "dessiner_photo",
    "extraire_polygones", "generer_communes", "generer_demo", "generer_nouvelles_surfaces",
    "generer_objectifs", "generer_occupation", "generer_operations", "generer_parcelles", "generer_photos",
    "lire_communes_demo", "lire_contours_communes", "lire_parametres", "lire_textes", "numeroter_parcelles",
    "placer_noyaux", "projeter_wgs84",
    "repartir_operations", "repartir_par_commune",
]
