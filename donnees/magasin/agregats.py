"""Agrégats du registre calculés par la base (SQLite ou PostgreSQL + PostGIS), sans lire chaque opération.

Une ligne par « grain » : commune, année de fin des travaux, statut, type de site et validation, les cinq
critères des filtres des indicateurs (:class:`indicateurs.communs.Filtres`). Tout filtre se rejoue donc sur ces
petites tables, et toute somme par commune, année, statut ou type de site s'en déduit.

- ``operations`` : nombre d'opérations, coûts HT connus (somme, nombre), aides (toutes, et celles des
  opérations de coût connu), volumes de stockage déclarés, écarts entre surface déclarée et dessinée signalés ;
- ``revetements`` : surface des zones par imperméabilité avant et après, déconnexion du réseau et coût connu,
  avec les sommes des surfaces pondérées par les coefficients de ruissellement (les formules des indicateurs
  restent dans :mod:`indicateurs`, appliquées par :mod:`indicateurs.agregats`) ; les zones des opérations à
  localisation approximative n'y sont pas ;
- ``financeurs`` : aides par financeur.

Les droits de lecture arrivent en deux conditions SQL (:func:`donnees.droits.conditions_lecture_sql`) :
``visible`` (opérations comptées) et ``detaillee`` (coûts et aides comptés) ; le magasin n'en décide pas.
"""

from __future__ import annotations

import pandas as pd
from collections.abc import Iterable, Mapping

from sqlalchemy import Integer, and_, case, cast, delete, false, func, literal, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.engine import Connection

from donnees.magasin.convertisseurs import lire_resultat
from donnees.magasin.tables import table_estimation_site, table_financement, table_operation, table_zone

GRAIN = ["code_insee", "annee", "statut", "type_site", "validation"]
COLONNES_OPERATIONS = [*GRAIN, "nombre_operations", "cout_total_ht", "nombre_operations_cout_connu",
                       "montant_aides", "aides_cout_connu", "volume_stockage", "nombre_ecarts_signales"]
COLONNES_REVETEMENTS = [*GRAIN, "impermeable_avant", "impermeable_apres", "deconnexion_reseau", "cout_connu",
                        "surface_m2", "surface_c_avant", "surface_c_apres", "zones_inconnues"]
BOOLEENS = ("impermeable_avant", "impermeable_apres", "deconnexion_reseau", "cout_connu")
COLONNES_FINANCEURS = [*GRAIN, "financeur", "montant_aides"]
COLONNES_ESTIMATIONS = [*GRAIN, "somme_ponderee", "cellules"]
STATUT_REALISE = "realisee"  # seules les opérations réalisées ont une estimation de rafraîchissement
TAILLE_PAQUET_IDS = 5000  # identifiants par requête « IN (…) »


def _grain(op) -> list:
    """Colonnes du grain ; l'année est celle de la date de fin des travaux (nulle sans date)."""
    annee = cast(func.extract("year", op.c.date_fin_travaux), Integer).label("annee")
    return [op.c.code_insee, annee, op.c.statut, op.c.type_site, op.c.validation]


def _vrai(valeur: bool | None):
    return true() if valeur else false()


def _table(conn: Connection, requete, colonnes: list[str]) -> pd.DataFrame:
    resultat = conn.execute(requete)
    table = lire_resultat(resultat, colonnes)
    table["annee"] = pd.array(table["annee"], dtype="Int64")
    for colonne in colonnes[len(GRAIN):]:
        if colonne == "financeur":
            table[colonne] = table[colonne].astype(str)
        elif colonne in BOOLEENS:
            table[colonne] = table[colonne].fillna(False).astype(bool)
        else:
            table[colonne] = pd.to_numeric(table[colonne]).astype(float)
    for colonne in ("code_insee", "statut", "type_site", "validation"):
        table[colonne] = table[colonne].astype(str)
    return table


def agreger_operations(conn: Connection, visible, detaillee, tolerance_ecart: float) -> pd.DataFrame:
    """Sommes par grain des opérations ``visible`` (coûts et aides des seules opérations ``detaillee``).

    Écart signalé (opération non approximative, surface déclarée) : |S_déclarée − S_dessinée| >
    ``tolerance_ecart`` × S_dessinée, S_dessinée = Σ des surfaces de ses zones (0 sans zone), comme
    :func:`indicateurs.surfaces.signaler_ecart_surface`.
    """
    op, zo, fi = table_operation, table_zone, table_financement
    dessinee = (select(zo.c.operation_id, func.sum(zo.c.surface_m2).label("s"))
                .group_by(zo.c.operation_id).subquery())
    aides = (select(fi.c.operation_id, func.sum(fi.c.montant_eur).label("m"))
             .group_by(fi.c.operation_id).subquery())
    cout = case((detaillee, op.c.cout_ht_eur), else_=None)
    aide = case((detaillee, func.coalesce(aides.c.m, 0.0)), else_=0.0)
    s = func.coalesce(dessinee.c.s, 0.0)
    approximative = func.coalesce(op.c.localisation_approximative, false())
    signale = case((and_(op.c.surface_declaree_m2.is_not(None), approximative.is_(False),
                         func.abs(op.c.surface_declaree_m2 - s) > literal(float(tolerance_ecart)) * s), 1), else_=0)
    requete = (select(*_grain(op), func.count().label("n"), func.coalesce(func.sum(cout), 0.0),
                      func.count(cout), func.coalesce(func.sum(aide), 0.0),
                      func.coalesce(func.sum(case((cout.is_not(None), aide), else_=0.0)), 0.0),
                      func.coalesce(func.sum(op.c.volume_stockage_m3), 0.0), func.sum(signale))
               .select_from(op.outerjoin(dessinee, dessinee.c.operation_id == op.c.id)
                            .outerjoin(aides, aides.c.operation_id == op.c.id))
               .where(visible).group_by(*_grain(op)))
    return _table(conn, requete, COLONNES_OPERATIONS)


def agreger_revetements(conn: Connection, visible, detaillee, coefficients: Mapping[str, float],
                        impermeables: Iterable[str]) -> pd.DataFrame:
    """Zones par grain, imperméabilité avant et après, déconnexion du réseau et coût connu (opérations
    ``visible`` dont l'emplacement n'est pas approximatif) : surface Σ S, et Σ S·C_avant, Σ S·C_apres.

    ``coefficients`` : coefficient de ruissellement C par code de revêtement ; ``impermeables`` : codes des
    revêtements imperméables (``revetements.csv``). Un code inconnu est compté dans ``zones_inconnues``.
    """
    op, zo = table_operation, table_zone
    codes = sorted(set(impermeables))
    deconnexion = func.coalesce(op.c.deconnexion_reseau, false())
    connu = case((and_(detaillee, op.c.cout_ht_eur.is_not(None)), true()), else_=false())
    impermeable_avant = case((zo.c.revetement_avant.in_(codes), true()), else_=false())
    impermeable_apres = case((zo.c.revetement_apres.in_(codes), true()), else_=false())
    valeurs = {str(k): float(v) for k, v in coefficients.items()}
    c_avant = case(valeurs, value=zo.c.revetement_avant, else_=None)
    c_apres = case(valeurs, value=zo.c.revetement_apres, else_=None)
    inconnue = case((or_(c_avant.is_(None), c_apres.is_(None)), 1), else_=0)
    cles = [*_grain(op), impermeable_avant, impermeable_apres, deconnexion, connu]
    requete = (select(*cles, func.sum(zo.c.surface_m2), func.sum(zo.c.surface_m2 * c_avant),
                      func.sum(zo.c.surface_m2 * c_apres), func.sum(inconnue))
               .select_from(zo.join(op, op.c.id == zo.c.operation_id))
               .where(visible, func.coalesce(op.c.localisation_approximative, false()).is_(False))
               .group_by(*cles))
    return _table(conn, requete, COLONNES_REVETEMENTS)


def agreger_financeurs(conn: Connection, visible, detaillee) -> pd.DataFrame:
    """Aides par grain et financeur (opérations ``visible`` et ``detaillee`` seulement)."""
    op, fi = table_operation, table_financement
    requete = (select(*_grain(op), fi.c.financeur, func.sum(fi.c.montant_eur))
               .select_from(fi.join(op, op.c.id == fi.c.operation_id))
               .where(visible, detaillee).group_by(*_grain(op), fi.c.financeur))
    return _table(conn, requete, COLONNES_FINANCEURS)


class AgregatsMagasin:
    """Méthode d'agrégats du magasin (mêlée à :class:`donnees.magasin.Magasin`)."""

    def agreger_registre(self, coefficients: Mapping[str, float], impermeables: Iterable[str], visible=None,
                         detaillee=None, tolerance_ecart: float = 0.0) -> dict[str, pd.DataFrame]:
        """Tables ``operations``, ``revetements`` et ``financeurs`` agrégées par grain, lues dans un même
        instantané. ``coefficients`` et ``impermeables`` : voir :func:`agreger_revetements` ; ``visible`` /
        ``detaillee`` : conditions SQL des droits (:func:`donnees.droits.conditions_lecture_sql`) ; par défaut,
        toutes les opérations non supprimées, détails compris. ``tolerance_ecart`` : paramètre
        ``ecart_surface_declaree`` (fraction)."""
        if visible is None:
            visible = table_operation.c.supprimee.is_(False)
        detaillee = true() if detaillee is None else detaillee
        with self._lire() as conn:
            return {"operations": agreger_operations(conn, visible, detaillee, tolerance_ecart),
                    "revetements": agreger_revetements(conn, visible, detaillee, coefficients, impermeables),
                    "financeurs": agreger_financeurs(conn, visible, detaillee)}

    # ------------------------------------------------------------ estimations par site (résultats gardés)

    def lister_estimations_a_faire(self, cle: str) -> pd.DataFrame:
        """Opérations réalisées, non supprimées, dessinées (emplacement non approximatif), sans estimation de
        rafraîchissement pour leur version actuelle et la clé de paramètres ``cle`` : colonnes ``id``,
        ``version``."""
        op, es = table_operation, table_estimation_site
        requete = (select(op.c.id, op.c.version)
                   .select_from(op.outerjoin(es, and_(es.c.operation_id == op.c.id, es.c.version == op.c.version,
                                                      es.c.cle == cle)))
                   .where(op.c.supprimee.is_(False), op.c.statut == STATUT_REALISE,
                          func.coalesce(op.c.localisation_approximative, false()).is_(False),
                          es.c.operation_id.is_(None))
                   .order_by(op.c.id))
        with self._lire() as conn:
            return lire_resultat(conn.execute(requete), ["id", "version"])

    def ecrire_estimations(self, estimations: pd.DataFrame, cle: str) -> None:
        """Remplace les estimations des opérations données (``operation_id``, ``version``, ``somme_ponderee``,
        ``cellules``), en une transaction. Un autre processus qui les écrit au même instant l'emporte : ce
        sont les mêmes valeurs (calcul déterministe)."""
        if estimations.empty:
            return
        lignes = [{"operation_id": int(i), "version": int(v), "cle": cle, "somme_ponderee": float(s),
                   "cellules": float(c)}
                  for i, v, s, c in estimations[["operation_id", "version", "somme_ponderee", "cellules"]]
                  .itertuples(index=False)]
        ids = [ligne["operation_id"] for ligne in lignes]
        try:
            with self._ecrire() as conn:
                for debut in range(0, len(ids), TAILLE_PAQUET_IDS):
                    conn.execute(delete(table_estimation_site)
                                 .where(table_estimation_site.c.operation_id.in_(ids[debut:debut + TAILLE_PAQUET_IDS])))
                conn.execute(table_estimation_site.insert(), lignes)
        except IntegrityError:
            pass  # écrites au même instant par un autre processus (PostgreSQL), ou opération supprimée entre-temps

    def agreger_estimations(self, cle: str, visible=None) -> pd.DataFrame:
        """Estimations de rafraîchissement (somme pondérée par les cellules, cellules) sommées par grain, sur les
        opérations réalisées ``visible`` dont l'estimation est à jour (version, ``cle``)."""
        op, es = table_operation, table_estimation_site
        visible = op.c.supprimee.is_(False) if visible is None else visible
        requete = (select(*_grain(op), func.sum(es.c.somme_ponderee), func.sum(es.c.cellules))
                   .select_from(es.join(op, and_(op.c.id == es.c.operation_id, op.c.version == es.c.version)))
                   .where(visible, es.c.cle == cle, op.c.statut == STATUT_REALISE,
                          func.coalesce(op.c.localisation_approximative, false()).is_(False))
                   .group_by(*_grain(op)))
        with self._lire() as conn:
            return _table(conn, requete, COLONNES_ESTIMATIONS)

    def lire_zones_operations(self, ids) -> pd.DataFrame:
        """Zones (``operation_id``, revêtements, géométrie WGS84 en WKB) des opérations ``ids``, par paquets."""
        zo = table_zone
        ids = [int(i) for i in ids]
        morceaux = []
        with self._lire() as conn:
            for debut in range(0, len(ids), TAILLE_PAQUET_IDS):
                requete = (select(zo.c.id, zo.c.operation_id, zo.c.revetement_avant, zo.c.revetement_apres,
                                  zo.c.geometrie)
                           .where(zo.c.operation_id.in_(ids[debut:debut + TAILLE_PAQUET_IDS])).order_by(zo.c.id))
                morceaux.append(lire_resultat(conn.execute(requete),
                                             ["zone_id", "operation_id", "revetement_avant",
                                                      "revetement_apres", "geometrie"]))
        return pd.concat(morceaux, ignore_index=True) if morceaux else pd.DataFrame(
            columns=["zone_id", "operation_id", "revetement_avant", "revetement_apres", "geometrie"])

    def lire_registre_modeles(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Ce que lisent les modèles sur grille et les sommes aux abords : (opérations non supprimées : ``id``,
        ``localisation_approximative`` ; zones des opérations validées, :meth:`lire_zones`), sans le reste du
        registre (textes, coûts, unions des zones par opération)."""
        op = table_operation
        with self._lire() as conn:
            operations = lire_resultat(conn.execute(select(op.c.id, op.c.localisation_approximative)
                                                    .where(op.c.supprimee.is_(False)).order_by(op.c.id)),
                                       ["id", "localisation_approximative"])
        operations["localisation_approximative"] = operations["localisation_approximative"].astype("boolean")
        return operations, self.lire_zones(validations=("validee",))
