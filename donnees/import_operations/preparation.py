"""État de la préparation d'un import : lignes, zones, opérations, lecture des valeurs et des parcelles."""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import Point, box
from shapely.geometry.base import BaseGeometry

from donnees import modele_operation
from donnees.cadastre import (
    MOTIF_CODE_INSEE,
    MOTIF_ID_PARCELLE,
    MOTIF_REF_PARCELLE,
    composer_id_parcelle,
)
from donnees.import_operations.codes import _nomenclatures
from donnees.import_operations.correspondance import _LIBELLES
from donnees.import_operations.geometries import (
    _lire_wkt,
    _parties_polygonales,
)
from donnees.import_operations.seuils import COTE_EMPLACEMENT_M, PAS_EMPLACEMENT_M, Budget, limite
from donnees.import_operations.tables import TableImportee
from donnees.import_operations.valeurs import (
    _annee_brute,
    _booleen,
    _date,
    _entier,
    _est_vide,
    _financements,
    _normaliser,
    _positif,
    _Probleme,
    _texte,
)
from donnees.erreurs import ErreurDonnees
from donnees.erreurs import decrire_invalidite as _raison_invalidite
from donnees.format import formater_nombre
from donnees.geometrie import CRS_STOCKAGE, en_lambert93, en_wgs84
from donnees.zones import Constat, constater, controler_forme, en_degres



# ------------------------------------------------------------------------------- préparation


@dataclass
class _Ligne:
    feuille: str | None
    numero: int
    valeurs: dict[str, Any]
    geometrie: BaseGeometry | None = None
    principale: bool = True
    erreur: bool = False


@dataclass
class _Zone:
    ligne: _Ligne
    geometrie: BaseGeometry | None
    avant: str | None
    apres: str | None
    parcelles: list[str] = field(default_factory=list)
    emplacement: bool = False
    l93: BaseGeometry | None = None
    champ: str = "geometrie"


@dataclass
class _Operation:
    cle: tuple
    lignes: list[_Ligne]
    champs: dict[str, Any]
    zones: list[_Zone] = field(default_factory=list)
    invalide: bool = False
    texte_financeurs: str | None = None
    sources: dict[str, _Ligne] = field(default_factory=dict)

    @property
    def premiere(self) -> _Ligne:
        return self.lignes[0]

    def en_erreur(self) -> bool:
        return self.invalide or any(l.erreur for l in self.lignes) or any(z.ligne.erreur for z in self.zones)


def _lecteur_declare(champ: modele_operation.Champ) -> Callable[[Any], Any] | None:
    """Lecteur d'une valeur de fichier d'après la nature déclarée du champ (None : nature à lecture propre)."""
    lecteurs = {"nombre": lambda x: _positif(x, champ.libelle), "entier": lambda x: _entier(x, champ.libelle),
                "booleen": _booleen, "texte": _texte}
    return lecteurs.get(champ.nature)


# Champs scalaires de l'opération importables : ceux que lire_operation ne lit pas un à un (un champ ajouté
# au modèle, par exemple) sont lus d'après leur nature déclarée.
_LECTEURS_DECLARES = {nom: _lecteur_declare(c) for nom, c in modele_operation.champs_import().items()
                      if nom in modele_operation.CHAMPS_SCALAIRES and _lecteur_declare(c) is not None}


class _Preparation:
    """État de :func:`preparer_import` (messages, référentiels en Lambert-93, opérations)."""

    def __init__(self, table: TableImportee, correspondance: dict[str, str], parcelles, communes,
                 commune_par_defaut, magasin, zones_existantes, localiser_au_centroide,
                 corriger_geometries, revetements_par_defaut, correspondance_zones):
        self.table = table
        self.correspondance = correspondance
        self.parcelles_brutes = parcelles
        self.magasin = magasin
        self.zones_existantes = zones_existantes
        self.localiser = localiser_au_centroide
        self.corriger = corriger_geometries
        self.messages: list[dict] = []
        self.noms = _nomenclatures()
        self.excel = table.format == "xlsx"
        self.communes_l93: dict[str, BaseGeometry] = {}
        self.noms_communes: dict[str, list[str]] = {}
        if communes is not None:
            self._charger_communes(communes)
        self.commune_defaut = None
        if commune_par_defaut is not None and not _est_vide(commune_par_defaut):
            try:
                self.commune_defaut = self._code_insee(commune_par_defaut)
            except _Probleme as exc:
                raise ErreurDonnees(f"Commune par défaut : {exc}.", "import", "code_insee") from None
        self.revetements_defaut = None
        if revetements_par_defaut:
            try:
                self.revetements_defaut = tuple(self.noms["revetement"].lire(v)[0]
                                                for v in revetements_par_defaut)
            except _Probleme as exc:
                raise ErreurDonnees(f"Revêtements par défaut : {exc}.", "import", "revetement_avant") from None
        self.correspondance_zones = correspondance_zones
        self._index_parcelles = None
        self.emplacements: dict[str, int] = {}
        self.sommets = 0
        self.budget = Budget(limite("duree_max_apercu_s"), f"{table.nom_fichier} : fichier refusé, sa préparation "
                             f"dépasse {formater_nombre(limite('duree_max_apercu_s'))} s de contrôles. Découpez-le en "
                             "plusieurs fichiers (par commune ou par année) et importez-les l'un après l'autre.")

    def compter_sommets(self, ligne: _Ligne, champ: str, geometrie: BaseGeometry) -> bool:
        """Vrai si la géométrie a au plus ``sommets_max_geometrie`` sommets (sinon erreur à la ligne) ; lève
        :class:`ErreurDonnees` quand le fichier dépasse ``sommets_max_fichier`` sommets en tout."""
        nombre = int(shapely.get_num_coordinates(geometrie))
        self.sommets += nombre
        if self.sommets > limite("sommets_max_fichier"):
            raise ErreurDonnees(f"{self.table.nom_fichier} : fichier refusé, ses géométries dépassent "
                                f"{formater_nombre(limite('sommets_max_fichier'))} sommets en tout. Simplifiez les "
                                "contours dans votre SIG (outil « Simplifier », tolérance 0,5 m) ou découpez le "
                                "fichier.", "import", "fichier")
        maximum = limite("sommets_max_geometrie")
        if nombre > maximum:
            self.erreur(ligne, champ, f"contour de {formater_nombre(nombre)} sommets, plus que le maximum de "
                        f"{formater_nombre(maximum)} par zone. Simplifiez-le dans votre SIG (outil « Simplifier », "
                        "tolérance 0,5 m), ou redessinez la zone")
            return False
        return True

    # ---------------------------------------------------------------- messages

    def unite(self, feuille: str | None) -> str:
        return "entité n°" if self.table.unite == "entité" else "ligne"

    def repere(self, ligne: _Ligne) -> str:
        """« ligne 3 », « entité n° 3 » ou « feuille « zones », ligne 3 »."""
        texte = f"{self.unite(ligne.feuille)} {ligne.numero}"
        if ligne.feuille and self.table.format == "xlsx" and ligne.feuille != self.table.feuille:
            texte = f"feuille « {ligne.feuille} », {texte}"
        return texte

    def signaler(self, ligne: _Ligne | None, champ: str | None, niveau: str, texte: str,
                 colonne: str | None = None, regle: str | None = None) -> None:
        lieu = self.table.nom_fichier
        if ligne is not None and ligne.feuille and self.table.format == "xlsx":
            lieu += f", feuille « {ligne.feuille} »"
        if ligne is not None:
            lieu += f", {self.unite(ligne.feuille)} {ligne.numero}"
        if champ:
            lieu += f", champ « {_LIBELLES.get(champ, champ)} »"
            if colonne is None and ligne is not None:
                colonne = self._colonne(ligne, champ)
            if colonne and _normaliser(colonne) not in (_normaliser(_LIBELLES.get(champ, champ)),
                                                        _normaliser(champ)):
                lieu += f" (colonne « {colonne} »)"
        texte = texte.rstrip()
        if not texte.endswith((".", "?", "!", "»")):
            texte += "."
        self.messages.append({"fichier": self.table.nom_fichier,
                              "feuille": ligne.feuille if ligne is not None else None,
                              "ligne": ligne.numero if ligne is not None else None,
                              "champ": champ, "niveau": niveau, "message": f"{lieu} : {texte}",
                              "regle": regle})
        if niveau == "erreur" and ligne is not None:
            ligne.erreur = True

    def erreur(self, ligne, champ, texte, colonne=None):
        self.signaler(ligne, champ, "erreur", texte, colonne)

    def avertir(self, ligne, champ, texte, colonne=None):
        self.signaler(ligne, champ, "avertissement", texte, colonne)

    def constater(self, ligne: _Ligne, champ: str, constat: Constat) -> None:
        """Signale un constat du contrôle des zones (:mod:`donnees.zones`), avec son code de règle."""
        self.signaler(ligne, champ, constat.niveau, constat.texte, regle=constat.code)

    def _colonne(self, ligne: _Ligne, champ: str) -> str | None:
        if ligne.principale:
            return self.correspondance.get(champ)
        return (self.correspondance_zones or {}).get(champ)

    # ---------------------------------------------------------------- référentiels

    def _charger_communes(self, communes) -> None:
        if not isinstance(communes, gpd.GeoDataFrame) or "code_insee" not in communes.columns:
            raise ErreurDonnees("Couche des communes : GeoDataFrame avec une colonne « code_insee » attendue.",
                                "import", "communes")
        table = en_lambert93(communes, crs_defaut=CRS_STOCKAGE)
        for code, geometrie in zip(table["code_insee"].astype(str), table.geometry.values):
            if geometrie is None or geometrie.is_empty:
                continue
            if not geometrie.is_valid:
                geometrie = shapely.make_valid(geometrie)
            self.communes_l93[code] = geometrie
        if "nom" in communes.columns:
            for code, nom in zip(communes["code_insee"].astype(str), communes["nom"]):
                self.noms_communes.setdefault(_normaliser(nom), []).append(code)
        self.index_communes = shapely.STRtree(list(self.communes_l93.values()))
        self.codes_communes = list(self.communes_l93)

    def _parcelles(self):
        if self._index_parcelles is None:
            table = self.parcelles_brutes
            if callable(table) and not isinstance(table, pd.DataFrame):
                table = table()  # chargement paresseux : seulement si le fichier cite des parcelles
            if not isinstance(table, gpd.GeoDataFrame) or "id" not in table.columns:
                raise ErreurDonnees("Couche des parcelles : GeoDataFrame avec les colonnes id, commune, "
                                    "prefixe, section, numero attendue.", "import", "parcelles")
            table = en_wgs84(table)
            ids = table["id"].astype(str).str.upper().tolist()
            par_id = dict(zip(ids, table.geometry.values))
            par_ref: dict[tuple, list[str]] = {}
            for identifiant in ids:
                m = MOTIF_ID_PARCELLE.match(identifiant)
                if m:
                    par_ref.setdefault((m[1], m[3].lstrip("0") or "0", m[4]), []).append(identifiant)
            self._index_parcelles = (par_id, par_ref)
        return self._index_parcelles

    # ---------------------------------------------------------------- lecture des valeurs

    def _code_insee(self, valeur: Any) -> str:
        if isinstance(valeur, numbers.Real) and not isinstance(valeur, bool):
            if not float(valeur).is_integer():
                raise _Probleme(f"« {valeur} » n'est pas un code INSEE (5 caractères, ex. 34301)")
            valeur = str(int(valeur)).zfill(5)
        texte = str(valeur).strip().upper()
        if re.fullmatch(r"\d{4}", texte):
            texte = texte.zfill(5)
        if MOTIF_CODE_INSEE.match(texte):
            if self.communes_l93 and texte not in self.communes_l93:
                raise _Probleme(f"commune {texte} hors du territoire (absente de la couche des communes) : "
                                "la ligne n'est pas importée. Vérifiez le code INSEE, ou retirez la ligne si "
                                "l'opération est hors du territoire")
            return texte
        if self.noms_communes:
            codes = self.noms_communes.get(_normaliser(valeur), [])
            if len(codes) == 1:
                return codes[0]
            if len(codes) > 1:
                raise _Probleme(f"plusieurs communes s'appellent « {valeur} » ({', '.join(codes)}). "
                                "Indiquez le code INSEE")
            raise _Probleme(f"« {valeur} » n'est ni un code INSEE (5 caractères, ex. 34301) ni le nom d'une "
                            "commune du territoire")
        raise _Probleme(f"« {valeur} » n'est pas un code INSEE (5 caractères, ex. 34301, ou 2A004 en Corse)")

    def _lire_champ(self, ligne: _Ligne, champ: str, lecteur: Callable[[Any], Any]) -> Any:
        valeur = ligne.valeurs.get(champ)
        if _est_vide(valeur):
            return None
        try:
            return lecteur(valeur)
        except _Probleme as exc:
            self.erreur(ligne, champ, str(exc))
            return None

    def _nomenclature(self, ligne: _Ligne, champ: str, cle: str) -> str | None:
        valeur = ligne.valeurs.get(champ)
        if _est_vide(valeur):
            return None
        try:
            code, avertissement = self.noms[cle].lire(valeur)
        except _Probleme as exc:
            self.erreur(ligne, champ, str(exc))
            return None
        if avertissement:
            self.avertir(ligne, champ, avertissement)
        return code

    def lire_operation(self, ligne: _Ligne) -> dict[str, Any]:
        """Champs d'opération d'une ligne (valeurs lues, erreurs signalées)."""
        v = ligne.valeurs
        champs: dict[str, Any] = {"code_insee": self._lire_champ(ligne, "code_insee", self._code_insee)}
        for champ in ("nom", "maitre_ouvrage", "description", "retour_experience", "contact", "source",
                      "type_source", "precision_surface", "precision_cout"):
            champs[champ] = _texte(v.get(champ))
        champs["type_site"] = self._nomenclature(ligne, "type_site", "type_site")
        champs["statut"] = self._nomenclature(ligne, "statut", "statut")
        date_fin = None
        champs["_annee"] = None
        for champ in ("date_fin_travaux", "annee"):
            if _est_vide(v.get(champ)):
                continue
            if champ == "annee" and (annee := _annee_brute(v.get(champ))) is not None:
                champs["_annee"] = annee  # date de fin ou simple mention : voir _controler_operation
                break
            try:
                date_fin, avertissement = _date(v.get(champ), excel=self.excel)
            except _Probleme as exc:
                self.erreur(ligne, champ, str(exc))
                date_fin = None
                break
            if avertissement:
                self.avertir(ligne, champ, avertissement)
            break
        champs["date_fin_travaux"] = date_fin
        champs["cout_ht_eur"] = self._lire_champ(ligne, "cout_ht_eur", lambda x: _positif(x, "coût"))
        champs["surface_declaree_m2"] = self._lire_champ(ligne, "surface_declaree_m2",
                                                         lambda x: _positif(x, "surface"))
        champs["volume_stockage_m3"] = self._lire_champ(ligne, "volume_stockage_m3",
                                                        lambda x: _positif(x, "volume"))
        champs["arbres_plantes"] = self._lire_champ(ligne, "arbres_plantes",
                                                    lambda x: _entier(x, "nombre d'arbres"))
        champs["deconnexion_reseau"] = self._lire_champ(ligne, "deconnexion_reseau", _booleen)
        for nom, lecteur in _LECTEURS_DECLARES.items():  # champs sans lecture particulière ci-dessus
            if nom not in champs:
                champs[nom] = self._lire_champ(ligne, nom, lecteur)
        champs["financements"] = None
        champs["_texte_financeurs"] = None
        if not _est_vide(v.get("financements")):
            try:
                liste, texte, avertissement = _financements(v.get("financements"))
            except _Probleme as exc:
                self.erreur(ligne, "financements", str(exc))
            else:
                champs["financements"] = liste or None
                champs["_texte_financeurs"] = texte
                if avertissement:
                    self.avertir(ligne, "financements", avertissement)
        return champs

    def lire_zone(self, ligne: _Ligne) -> _Zone | None:
        """Zone décrite par une ligne (géométrie native, WKT ou références cadastrales), ou None."""
        v = ligne.valeurs
        geometrie = ligne.geometrie
        champ_geo = "geometrie"
        if geometrie is None and not _est_vide(v.get("geometrie_wkt")):
            champ_geo = "geometrie_wkt"
            try:
                geometrie = _lire_wkt(v["geometrie_wkt"], self.table.crs_wkt)
            except _Probleme as exc:
                self.erreur(ligne, "geometrie_wkt", str(exc))
                return _Zone(ligne, None, None, None)
            if not geometrie.is_empty and not en_degres(geometrie):
                self.constater(ligne, "geometrie_wkt", constater("hors_degres", "", "import"))
                return _Zone(ligne, None, None, None)
        a_parcelles = not _est_vide(v.get("parcelles"))
        if geometrie is None and not a_parcelles:
            if self.table.a_geometrie and ligne.principale:
                self.erreur(ligne, "geometrie", "géométrie absente. Dessinez le contour de la zone dans votre "
                            "SIG, ou supprimez cet objet")
                return _Zone(ligne, None, None, None)
            return None
        self.budget.verifier()
        if geometrie is not None and not self.compter_sommets(ligne, champ_geo, geometrie):
            return _Zone(ligne, None, None, None)
        zone = _Zone(ligne, None, None, None, champ=champ_geo if geometrie is not None else "parcelles")
        if geometrie is not None:
            zone.geometrie = self._verifier_geometrie(ligne, champ_geo, geometrie)
        avant = self._nomenclature(ligne, "revetement_avant", "revetement")
        apres = self._nomenclature(ligne, "revetement_apres", "revetement")
        for champ, code, rang in (("revetement_avant", avant, 0), ("revetement_apres", apres, 1)):
            if code is None and _est_vide(v.get(champ)):
                if self.revetements_defaut:
                    code = self.revetements_defaut[rang]
                else:
                    codes = ", ".join(self.noms["revetement"].libelles)
                    self.erreur(ligne, champ, f"obligatoire pour chaque zone. Codes possibles : {codes}")
            if rang == 0:
                avant = code
            else:
                apres = code
        zone.avant, zone.apres = avant, apres
        return zone

    def _verifier_geometrie(self, ligne: _Ligne, champ: str, geometrie: BaseGeometry) -> BaseGeometry | None:
        polygonale = _parties_polygonales(geometrie)
        if polygonale is None:  # vide, point ou ligne : règles de donnees.zones
            self.constater(ligne, champ, controler_forme(geometrie, "", "import"))
            return None
        if polygonale is not geometrie:
            self.avertir(ligne, champ, "collection de géométries : seules les surfaces sont gardées")
        geometrie = polygonale
        if shapely.has_z(geometrie):
            geometrie = shapely.force_2d(geometrie)
        if not geometrie.is_valid:
            raison = _raison_invalidite(geometrie)
            if not self.corriger:
                self.constater(ligne, champ, constater("contour_invalide", "", "import", raison=raison))
                return None
            corrigee = _parties_polygonales(shapely.make_valid(geometrie))
            if corrigee is None or corrigee.is_empty:
                self.erreur(ligne, champ, f"géométrie invalide ({raison}) et impossible à corriger. "
                            "Redessinez le contour")
                return None
            self.avertir(ligne, champ, f"géométrie invalide ({raison}) corrigée automatiquement (make_valid) : "
                         "vérifiez la forme obtenue sur la carte d'aperçu")
            geometrie = corrigee
        return geometrie

    def resoudre_parcelles(self, operation: _Operation, zone: _Zone, code_insee: str | None) -> None:
        ligne = zone.ligne
        valeur = ligne.valeurs.get("parcelles")
        if _est_vide(valeur):
            return
        if self.parcelles_brutes is None:
            self.erreur(ligne, "parcelles", "références cadastrales présentes mais le cadastre n'est pas chargé "
                        "(couche des parcelles absente). Importez le cadastre de la commune ou fournissez une "
                        "géométrie")
            return
        par_id, par_ref = self._parcelles()
        nb_messages = len(self.messages)
        texte = str(valeur).strip().upper().replace("\xa0", " ")
        morceaux = [m.strip() for m in re.split(r"[,;+\n|/]|\s+ET\s+", texte) if m.strip()]
        references: list[str] = []
        for morceau in morceaux:
            if MOTIF_ID_PARCELLE.match(morceau.replace(" ", "")) or MOTIF_REF_PARCELLE.match(morceau):
                references.append(morceau)
            else:
                jetons = morceau.split()
                if len(jetons) > 1 and all(MOTIF_ID_PARCELLE.match(j) or MOTIF_REF_PARCELLE.match(j)
                                           for j in jetons):
                    references.extend(jetons)
                else:
                    self.erreur(ligne, "parcelles", f"référence « {morceau} » illisible. Formats acceptés : "
                                "« AB 123 », « AB123 », « 0AB0123 », « 000AB0123 » ou l'identifiant à 14 "
                                "caractères (ex. 34301000AB0123) ; séparez les parcelles par des virgules")
        trouvees: list[str] = []
        inconnues: list[str] = []
        for reference in references:
            compacte = reference.replace(" ", "")
            if m := MOTIF_ID_PARCELLE.match(compacte):
                identifiant = compacte
                if code_insee and m[1] != code_insee:
                    self.erreur(ligne, "parcelles", f"parcelle {identifiant} d'une autre commune ({m[1]}) que "
                                f"l'opération ({code_insee})")
                    continue
                (trouvees if identifiant in par_id else inconnues).append(identifiant if identifiant in par_id
                                                                          else reference)
                continue
            m = MOTIF_REF_PARCELLE.match(reference)
            if not code_insee:
                self.erreur(ligne, "parcelles", f"commune inconnue pour la référence « {reference} » : "
                            "renseignez le code INSEE ou donnez l'identifiant à 14 caractères")
                continue
            prefixe, section, numero = m[1], m[2], m[3].zfill(4)
            if prefixe:
                identifiant = composer_id_parcelle(code_insee, prefixe, section.rjust(2, "0"), numero)
                (trouvees if identifiant in par_id else inconnues).append(identifiant if identifiant in par_id
                                                                          else reference)
                continue
            candidats = par_ref.get((code_insee, section, numero), [])
            if len(candidats) == 1:
                trouvees.append(candidats[0])
            elif len(candidats) > 1:
                standard = [c for c in candidats if c[5:8] == "000"]
                if len(standard) == 1:
                    trouvees.append(standard[0])
                else:
                    self.erreur(ligne, "parcelles", f"référence « {reference} » ambiguë ({', '.join(candidats)}) "
                                ": donnez l'identifiant à 14 caractères")
            else:
                inconnues.append(reference)
        if inconnues:
            self.erreur(ligne, "parcelles", f"parcelle(s) introuvable(s) dans le cadastre de la commune "
                        f"{code_insee or '?'} : {', '.join(inconnues)}. Vérifiez la section et le numéro "
                        "(ex. « AB 123 ») et le code INSEE")
        zone.parcelles = list(dict.fromkeys(trouvees))
        if zone.geometrie is None and zone.parcelles and len(self.messages) == nb_messages:
            union = shapely.union_all([par_id[i] for i in zone.parcelles])
            union = _parties_polygonales(shapely.make_valid(union) if not union.is_valid else union)
            if union is None:
                self.erreur(ligne, "parcelles", "géométrie des parcelles inutilisable (vide ou invalide)")
            else:
                zone.geometrie = shapely.force_2d(union)

    # ---------------------------------------------------------------- contrôles géographiques

    def commune_de(self, geometrie_l93: BaseGeometry) -> str | None:
        meilleur, surface = None, 0.0
        for i in self.index_communes.query(geometrie_l93, predicate="intersects"):
            commun = self.communes_l93[self.codes_communes[i]].intersection(geometrie_l93).area
            if commun > surface:
                meilleur, surface = self.codes_communes[i], commun
        return meilleur

    def emplacement(self, code: str) -> BaseGeometry:
        commune = self.communes_l93[code]
        centre = commune.centroid
        if not commune.contains(centre):
            centre = commune.representative_point()
        rang = self.emplacements.get(code, 0)
        self.emplacements[code] = rang + 1
        point = Point(centre.x + (rang % 5) * PAS_EMPLACEMENT_M, centre.y + (rang // 5) * PAS_EMPLACEMENT_M)
        if not commune.contains(point):
            point = centre
        demi = COTE_EMPLACEMENT_M / 2
        return box(point.x - demi, point.y - demi, point.x + demi, point.y + demi)


def _lignes_table(table: TableImportee, correspondance: dict[str, str], principale: bool) -> list[_Ligne]:
    colonnes = {champ: colonne for champ, colonne in correspondance.items() if colonne in table.donnees.columns}
    enregistrements = table.donnees.to_dict("records")
    lignes = []
    for position, (numero, enregistrement) in enumerate(zip(table.numeros, enregistrements)):
        valeurs = {champ: enregistrement.get(colonne) for champ, colonne in colonnes.items()}
        geometrie = table.geometries[position] if table.geometries is not None else None
        lignes.append(_Ligne(table.feuille, numero, valeurs, geometrie, principale))
    return lignes

