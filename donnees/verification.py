"""Vérification du dossier de données et du magasin : constats en français pour `desimper verifier`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from donnees.config import dossier_donnees, url_base
from donnees.erreurs import ErreurDonnees
from donnees.format import formater_nombre, neutraliser_controles
from donnees.nomenclatures import codes_revetement, lire_correspondance_ocsge
from donnees.photos import resoudre_photo
from donnees.referentiel import (
    COUCHES_FACULTATIVES_REEL,
    COUCHES_OBLIGATOIRES,
    COUCHES_REQUISES_REEL,
    couche_presente,
    lire_couche,
    lire_territoire,
)
from donnees.schemas import SCHEMAS

_journal = logging.getLogger(__name__)

CONSEIL_DEMO = "Lancez `desimper demo` pour créer le territoire de démonstration."
TABLES_MAGASIN = ("operation", "zone", "financement", "photo", "utilisateur", "journal")


@dataclass(frozen=True)
class Constat:
    """Un point vérifié : niveau (``ok``, ``information``, ``avertissement``, ``erreur``), sujet et message."""

    niveau: str
    sujet: str
    message: str


CONSEILS_IMPORT = {
    "communes": "desimper importer communes", "communes_affichage": "desimper importer communes",
    "parcelles": "desimper importer parcelles", "batiments": "desimper importer batiments",
    "occupation": "desimper importer occupation --depuis OCS-GE_….gpkg",
    "objectifs": "à saisir par le syndicat : Administration → Objectifs",
    "nouvelles_surfaces": "à saisir par le syndicat : Administration → Nouvelles surfaces imperméabilisées",
    "sol": "desimper importer sol --depuis FICHIER", "nappe": "desimper importer nappe",
    "sites_pollues": "desimper importer sites_pollues", "captages": "desimper importer captages --depuis FICHIER",
    "cavites": "desimper importer cavites",
}


def _verifier_couches(dossier: Path, codes: set[str], demo: bool = True) -> list[Constat]:
    constats, couches = [], {}
    requises = COUCHES_OBLIGATOIRES if demo else COUCHES_REQUISES_REEL
    facultatives = () if demo else COUCHES_FACULTATIVES_REEL
    for nom in requises + facultatives:
        if nom in facultatives and not couche_presente(nom, dossier):
            constats.append(Constat("information", SCHEMAS[nom].libelle, "couche facultative non importée "
                                    f"({CONSEILS_IMPORT.get(nom, 'facultative')}) ; les pages qui en ont besoin "
                                    "le signalent."))
            continue
        try:
            couches[nom] = lire_couche(nom, dossier)
        except ErreurDonnees as exc:
            _journal.info("Vérification : couche %s en erreur : %s", nom, exc)
            constats.append(Constat("erreur", SCHEMAS[nom].libelle, str(exc)))
            continue
        constats.append(Constat("ok", SCHEMAS[nom].libelle, f"{formater_nombre(len(couches[nom]))} lignes valides"))
    conseil = CONSEIL_DEMO if demo else "Réimportez-les : desimper importer communes."
    if "communes" in couches:
        presents = set(couches["communes"]["code_insee"])
        if presents != codes:
            ecart = sorted(presents ^ codes)
            constats.append(Constat("erreur", "communes", "Les communes de la couche ne sont pas celles du "
                                    f"territoire (écart : {', '.join(ecart[:5])}). {conseil}"))
    if "batiments" in couches:
        hors = ~couches["batiments"]["commune"].isin(codes)
        if hors.any():
            constats.append(Constat("erreur", "bâtiments", f"{int(hors.sum())} bâtiments hors des communes "
                                    "du territoire. Réimportez les bâtiments."))
    if "parcelles" in couches:
        hors = ~couches["parcelles"]["commune"].isin(codes)
        if hors.any():
            constats.append(Constat("erreur", "parcelles", f"{int(hors.sum())} parcelles hors des communes "
                                    "du territoire. Réimportez les parcelles."))
    constats += _verifier_publication(dossier)
    if "occupation" in couches:
        connus = set(lire_correspondance_ocsge()["code_cs"])
        inconnus = sorted(set(couches["occupation"]["code_cs"]) - connus)
        if inconnus:
            constats.append(Constat("erreur", "occupation du sol", "Codes OCS GE absents de la "
                                    f"correspondance vers les revêtements : {', '.join(inconnus[:5])}. "
                                    "Complétez donnees/nomenclatures/ocsge_revetements.csv."))
    return constats


def _verifier_publication(dossier: Path) -> list[Constat]:
    """Traces d'une écriture de couche interrompue (``kill -9``, coupure) : manifeste de publication en suspens,
    fichiers temporaires orphelins, couche dont le fichier ne correspond pas à l'empreinte de sa fiche."""
    from donnees.publication_couches import MANIFESTE, comparer_empreintes, lister_temporaires
    from donnees.sources import lire_sources

    constats = []
    if (dossier / MANIFESTE).exists():
        constats.append(Constat("erreur", "import interrompu", f"Un import de couche a été interrompu après sa "
                                f"décision ({MANIFESTE}) : couches et sources.json ne sont peut-être pas encore "
                                "toutes à jour. La prochaine commande `desimper importer …` le termine d'abord."))
    temporaires = [n for n in lister_temporaires(dossier) if n != MANIFESTE]
    if temporaires:
        constats.append(Constat("avertissement", "fichiers temporaires", "Fichiers temporaires orphelins laissés par "
                                f"une écriture interrompue : {', '.join(temporaires[:5])}. Rien ne les lit : la "
                                "prochaine commande `desimper importer …` retire ceux d'un import ; supprimez les "
                                f"autres à la main (dossier {dossier})."))
    constats += _verifier_partitions(dossier)
    try:
        sources = lire_sources(dossier)
    except ErreurDonnees:  # fiche illisible : déjà signalée par verifier_donnees (territoire réel)
        return constats
    for nom in comparer_empreintes(dossier, sources):
        libelle = SCHEMAS[nom].libelle if nom in SCHEMAS else nom
        commande = CONSEILS_IMPORT.get(nom, "desimper importer communes")
        constats.append(Constat("erreur", libelle, f"Le fichier de la couche ne correspond pas à sa fiche de "
                                "sources.json (empreinte différente : import interrompu ou fichier remplacé à la "
                                f"main) ; source, licence et millésime affichés seraient faux. Réimportez-la : "
                                f"{commande}."))
    return constats


def _verifier_partitions(dossier: Path) -> list[Constat]:
    """Couches rangées par commune : empreinte SHA-256 de chaque partition (contrôle complet, que la lecture ne
    fait pas) ; couches encore dans l'ancien fichier unique (à convertir)."""
    from donnees.partitions import COLONNES_PARTITION, est_partitionnee, verifier_empreintes

    constats = []
    for nom in COLONNES_PARTITION:
        if est_partitionnee(nom, dossier):
            try:
                ecarts = verifier_empreintes(nom, dossier)
            except ErreurDonnees as exc:
                constats.append(Constat("erreur", SCHEMAS[nom].libelle, str(exc)))
                continue
            if ecarts:
                constats.append(Constat("erreur", SCHEMAS[nom].libelle, f"Partition absente ou modifiée pour "
                                        f"{len(ecarts)} commune(s) : {', '.join(ecarts[:10])}. Les autres communes "
                                        f"restent lisibles ; réimportez ces communes ({CONSEILS_IMPORT.get(nom)})."))
        elif (dossier / f"{nom}.parquet").exists():
            constats.append(Constat("information", SCHEMAS[nom].libelle, "couche dans l'ancien format (un seul "
                                    "fichier, lu entier) : `desimper couches partitionner` la range par commune."))
    return constats


def _verifier_magasin(dossier: Path, url: str, codes: set[str], demo: bool = True) -> list[Constat]:
    from donnees.magasin import Magasin  # import local : le magasin n'est utile qu'ici

    try:
        moteur = sa.create_engine(url)
        with moteur.connect():
            tables = set(sa.inspect(moteur).get_table_names())
    except Exception as exc:  # pilote absent, réseau, droits : toute erreur de connexion est un constat
        _journal.warning("Vérification : base injoignable (%s)", url.split("@")[-1], exc_info=True)
        return [Constat("erreur", "magasin", f"Base injoignable ({url.split('@')[-1]}) : "
                        f"{type(exc).__name__}. Vérifiez DESIMPER_BASE_URL.")]
    manquantes = [t for t in TABLES_MAGASIN if t not in tables]
    if manquantes and not demo and not tables:
        return [Constat("information", "magasin", "Base des opérations pas encore créée : elle le sera au "
                        "premier compte (`desimper utilisateur creer --role administrateur …`).")]
    if manquantes:
        return [Constat("erreur", "magasin", f"Tables absentes de la base : {', '.join(manquantes)}. "
                        f"{CONSEIL_DEMO if demo else 'Créez-les : desimper utilisateur creer …'}")]
    magasin = Magasin(url)
    comptes = magasin.compter()
    constats = [Constat("ok", "magasin", ", ".join(f"{t} : {n}" for t, n in comptes.items()))]
    zones = magasin.lire_zones()
    inconnus = sorted((set(zones["revetement_avant"]) | set(zones["revetement_apres"])) - set(codes_revetement()))
    if inconnus:
        constats.append(Constat("erreur", "zones", f"Revêtements inconnus : {', '.join(inconnus)}."))
    operations = magasin.lire_operations()
    hors = sorted(set(operations["code_insee"]) - codes) if codes else []
    if hors:
        constats.append(Constat("erreur", "opérations", f"Opérations dans des communes hors du territoire : "
                                f"{', '.join(hors[:5])}."))
    photos = magasin.lire_photos()
    absentes = [c for c in photos["chemin"] if resoudre_photo(c, dossier) is None] if len(photos) else []
    if absentes:
        constats.append(Constat("avertissement", "photos", f"{len(absentes)} fichiers photo introuvables ou "
                                "refusés (nom qui n'est pas celui d'une photo du magasin, lien symbolique, hors du "
                                f"dossier photos/ ; par exemple « {neutraliser_controles(absentes[0])[:120]} »)."))
    constats.extend(verifier_fichiers_ressources(magasin, dossier))
    return constats


def verifier_fichiers_ressources(magasin, dossier: Path) -> list[Constat]:
    """Fichiers des ressources (issue 16) : présents sous ``ressources/`` et conformes à leur empreinte SHA-256."""
    import hashlib

    from donnees.fichiers_ressources import resoudre_fichier

    ressources = magasin.lire_ressources()
    fichiers = ressources[ressources["fichier_chemin"].notna().to_numpy(bool)]
    fautifs = []
    for chemin, empreinte in zip(fichiers["fichier_chemin"], fichiers["fichier_sha256"]):
        fichier = resoudre_fichier(chemin, dossier)
        if fichier is None or hashlib.sha256(fichier.read_bytes()).hexdigest() != empreinte:
            fautifs.append(chemin)
    if fautifs:
        return [Constat("erreur", "ressources", f"{len(fautifs)} fichier(s) de ressources absents ou altérés (par "
                        f"exemple « {neutraliser_controles(fautifs[0])[:120]} ») : restaurez-les depuis une "
                        "sauvegarde (desimper restaurer).")]
    return [Constat("ok", "ressources", f"{len(ressources)} ressource(s), dont {len(fichiers)} avec fichier, "
                    "fichiers présents et conformes")] if len(ressources) else []


def verifier_donnees(dossier: Path | None = None, url: str | None = None) -> list[Constat]:
    """Vérifie le dossier de données (territoire, couches) puis le magasin ; renvoie les constats."""
    dossier = dossier or dossier_donnees()
    url = url or url_base(dossier)
    if not dossier.is_dir():
        return [Constat("erreur", "dossier de données", f"Le dossier {dossier} n'existe pas. {CONSEIL_DEMO}")]
    try:
        territoire = lire_territoire(dossier)
    except ErreurDonnees as exc:
        _journal.info("Vérification : territoire en erreur : %s", exc)
        return [Constat("erreur", "territoire", str(exc))]
    from donnees.config import chemin_sqlite
    from donnees.verification_magasin import (
        verifier_integrite_sqlite,
        verifier_journaux_sqlite,
        verifier_traces_arret_brutal,
    )

    base = chemin_sqlite(url)
    journaux = verifier_journaux_sqlite(base) if base is not None else []  # avant toute ouverture de la base
    integrite = verifier_integrite_sqlite(base) if base is not None else []
    codes = set(territoire["codes_insee"])
    demo = bool(territoire.get("demo", True))
    genre = "démonstration" if demo else "territoire réel"
    constats = [Constat("ok", "territoire", f"{territoire['nom']} ({genre}) : {len(codes)} communes")]
    if not demo:
        try:
            from donnees.sources import lire_sources

            sources = lire_sources(dossier)
        except ErreurDonnees as exc:
            _journal.info("Vérification : fiches de sources en erreur : %s", exc)
            constats.append(Constat("avertissement", "sources", str(exc)))
        else:
            sans_fiche = [n for n in SCHEMAS if couche_presente(n, dossier) and n not in sources]
            if sans_fiche:
                constats.append(Constat("avertissement", "sources", "Couches sans fiche de source (licence, "
                                        f"millésime) : {', '.join(sans_fiche)}. Réimportez-les avec "
                                        "`desimper importer`."))
            demos = [n for n, f in sources.items() if f.get("demo") and couche_presente(n, dossier)]
            if demos:
                constats.append(Constat("erreur", "sources", "Couches de démonstration dans un territoire réel : "
                                        f"{', '.join(demos)}. Réimportez-les ou supprimez-les."))
    constats += _verifier_couches(dossier, codes, demo)
    if any(c.niveau == "erreur" for c in integrite):  # base abîmée : rien d'autre n'y est lu
        return constats + journaux + integrite
    constats += _verifier_magasin(dossier, url, codes, demo)
    if not any(c.niveau == "erreur" and c.sujet == "magasin" for c in constats):
        constats += journaux + integrite + verifier_traces_arret_brutal(dossier, url)
    return constats
