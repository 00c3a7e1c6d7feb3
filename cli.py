"""Ligne de commande `desimper` : démonstration, vérification, serveur."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from donnees.format import formater_nombre

# Couches de critères du potentiel importables (donnees.schemas.COUCHES_CRITERES_IMPORTABLES, répétées ici pour ne
# pas charger pandera au démarrage de la commande).
COUCHES_CRITERES_IMPORTABLES = ("sol", "nappe", "sites_pollues", "captages", "cavites")

RACINE = Path(__file__).resolve().parent


def _barre_progression():
    """Renvoie (rappel, fermeture) d'une barre tqdm pilotée par (étape, fraction)."""
    from tqdm import tqdm

    barre = tqdm(total=100, unit="%", bar_format="{l_bar}{bar}| {elapsed}", file=sys.stderr)

    def rappel(etape: str, fraction: float) -> None:
        barre.set_description(etape)
        barre.update(max(0, round(fraction * 100) - barre.n))

    return rappel, barre.close


def _afficher_comptes_demo(dossier: Path) -> None:
    """Crée (ou réinitialise) les comptes de démonstration et imprime leurs mots de passe, une seule fois."""
    from donnees.demo.comptes import creer_comptes_demo

    comptes = creer_comptes_demo(dossier)
    print("\nComptes de démonstration (un par rôle ; le public n'a pas besoin de compte). Notez ces mots de passe :")
    print("ils ne seront plus affichés (`desimper demo comptes` en génère de nouveaux).")
    for compte in comptes:
        communes = f", {', '.join(compte['noms_communes'])}" if compte["communes"] else ""
        print(f"  {compte['libelle_role']}{communes} : {compte['email']}  mot de passe : {compte['mot_de_passe']}")


def _refuser_territoire_reel(dossier: Path) -> None:
    """Refuse de générer la démonstration par-dessus un territoire réel."""
    from donnees.config import chemin_territoire
    from donnees.erreurs import ErreurDonnees
    from donnees.referentiel import lire_territoire

    if not chemin_territoire(dossier).exists():
        return
    try:
        reel = not lire_territoire(dossier).get("demo", True)
    except ErreurDonnees:
        reel = False
    if reel:
        raise ErreurDonnees(f"Le dossier {dossier} contient un territoire réel : la démonstration ne l'écrase "
                            "pas (ses couches et sa base des opérations seraient remplacées). Choisissez un "
                            "autre dossier avec --dossier.", "demo")


def commande_demo(args) -> int:
    from donnees.config import chemin_territoire, dossier_donnees
    from donnees.demo import generer_demo

    dossier = Path(args.dossier).resolve() if args.dossier else dossier_donnees()
    if args.action == "comptes":
        _afficher_comptes_demo(dossier)
        return 0
    if args.si_absent and chemin_territoire(dossier).exists():
        print(f"Territoire déjà présent dans {dossier} : rien à faire.")
        from donnees.referentiel import lire_territoire

        if lire_territoire(dossier).get("demo") is True:
            print("Comptes de démonstration : leurs mots de passe ont été affichés à la création ; "
                  "`.venv/bin/desimper demo comptes` en génère de nouveaux (les anciens ne marchent plus).")
        return 0
    _refuser_territoire_reel(dossier)
    print(f"Génération du territoire de démonstration ({args.taille}, graine {args.graine}) dans {dossier}…")
    rappel, fermer = _barre_progression()
    debut = time.perf_counter()
    try:
        resume = generer_demo(dossier, taille=args.taille, graine=args.graine, progression=rappel)
    finally:
        fermer()
    print(f"Couches et opérations écrites en {formater_nombre(time.perf_counter() - debut, 1, 's')}.")
    if not args.sans_modeles:
        from services.modeles import calculer_modeles_territoire

        print("Préparation des modèles chaleur et eau (grilles du bassin mises en cache pour l'application ; "
              "environ une minute sur la démonstration complète)…", flush=True)
        debut_modeles = time.perf_counter()
        calculer_modeles_territoire(dossier)
        print(f"Modèles prêts en {formater_nombre(time.perf_counter() - debut_modeles, 1, 's')}.")
    duree = time.perf_counter() - debut
    print(f"Territoire de démonstration prêt en {formater_nombre(duree, 1, 's')}.")
    libelles = {"communes": "communes", "parcelles": "parcelles", "occupation": "polygones d'occupation du sol",
                "operations": "opérations", "zones": "zones", "financements": "financements", "photos": "photos"}
    for cle, libelle in libelles.items():
        if isinstance(resume.get(cle), int):
            print(f"  {libelle} : {formater_nombre(resume[cle])}")
    _afficher_comptes_demo(dossier)
    return 0


def commande_verifier(args) -> int:
    from donnees.config import dossier_donnees, url_base
    from donnees.verification import verifier_donnees

    dossier = Path(args.dossier).resolve() if args.dossier else dossier_donnees()
    constats = verifier_donnees(dossier, url_base(dossier))
    marques = {"ok": "✔", "information": "ℹ", "avertissement": "⚠", "erreur": "✘"}
    print(f"Vérification du dossier de données {dossier}")
    for constat in constats:
        print(f"  {marques[constat.niveau]} {constat.sujet} : {constat.message}")
    erreurs = sum(c.niveau == "erreur" for c in constats)
    if erreurs:
        print(f"{erreurs} problème(s) à corriger.")
        return 1
    print("Tout est en ordre.")
    return 0


def commande_serveur(args) -> int:
    """Lance Streamlit sur app.py : dans ce processus, ou ``--processus N --mandataire`` derrière nginx ;
    ``--ecrire-nginx FICHIER`` écrit la configuration nginx d'un tel déploiement (docs/deploiement.md)."""
    if args.mandataire or args.processus > 1 or args.ecrire_nginx:
        return _servir_derriere_nginx(args)
    return _servir_streamlit(args)


def _servir_derriere_nginx(args) -> int:
    """Plusieurs processus Streamlit (PostGIS obligatoire au-delà d'un) derrière nginx, sessions collantes."""
    from donnees.config import url_base
    from donnees.erreurs import ErreurDonnees
    from services.deploiement import (
        PlanDeploiement,
        generer_configuration_nginx,
        servir_multiprocessus,
        verifier_magasin_partage,
    )

    plan = PlanDeploiement(args.processus, port_mandataire=args.port, adresse_mandataire=args.adresse,
                           premier_port=args.premier_port,
                           dossier_execution=Path(args.dossier_execution) if args.dossier_execution else None,
                           flux_agenda=Path(args.flux_agenda) if args.flux_agenda else None)
    from donnees.instance import lister_territoires

    for territoire in lister_territoires():  # instance à plusieurs territoires : chaque base doit être partagée
        verifier_magasin_partage(territoire.url, args.processus)
    if args.ecrire_nginx:
        try:
            Path(args.ecrire_nginx).write_text(generer_configuration_nginx(plan, complete=False), encoding="utf-8")
        except OSError:
            raise ErreurDonnees(f"Impossible d'écrire la configuration nginx « {args.ecrire_nginx} » : dossier "
                                "absent, en lecture seule, plein ou sans droit d'écriture. Choisissez un autre "
                                "fichier.", "ecrire_nginx") from None
        print(f"Configuration nginx écrite : {args.ecrire_nginx} (à inclure dans le bloc http de nginx ; lancez "
              f"chaque processus avec `desimper serveur --port P --adresse 127.0.0.1`, P de {plan.ports[0]} à "
              f"{plan.ports[-1]}).")
        return 0
    if not args.mandataire:
        raise ErreurDonnees(f"{args.processus} processus : ajoutez --mandataire (nginx devant eux) ou écrivez la "
                            "configuration d'un nginx système avec --ecrire-nginx FICHIER.", "processus")
    return servir_multiprocessus(plan, url_base(), args.options_streamlit)


def _servir_streamlit(args) -> int:
    """Lance Streamlit sur app.py, dans ce processus.

    ``pages/`` contient les pages déclarées par ``st.navigation`` dans app.py ; l'ancien mode multipage
    de Streamlit, qui exécute directement les scripts de ``pages/`` à la première requête, est désactivé
    avant le démarrage pour qu'un lien profond passe toujours par app.py (connexion, filtres).
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli as streamlit_cli

    os.chdir(RACINE)
    PagesManager.uses_pages_directory = False
    # Modules des pages (pandas, geopandas, SQLAlchemy, folium…) importés avant d'accepter les connexions : le
    # premier visiteur n'attend pas ces ~3 s d'import dans sa première page.
    import pages.commun  # noqa: F401

    sys.argv = ["streamlit", "run", str(RACINE / "app.py"), "--server.port", str(args.port),
                "--server.address", args.adresse, *args.options_streamlit]
    try:
        streamlit_cli.main()
    except SystemExit as sortie:
        return int(sortie.code or 0)
    return 0


def commande_indicateurs(args) -> int:
    import json

    from indicateurs.catalogue import lire_catalogue
    from services.exports import exporter_table
    from services.indicateurs import SELECTION_MODELES, calculer_indicateurs_territoire, garder_communes

    dossier = Path(args.dossier).resolve() if args.dossier else None
    # une seule sélection pour tous les chiffres : celle des modèles sur grille (réalisées et validées)
    table = calculer_indicateurs_territoire(dossier, SELECTION_MODELES, avec_grille=not args.sans_grille,
                                            options_modeles=_options_reparti(args))
    selection = table.attrs["selection"]
    if args.commune:
        table = garder_communes(table, args.commune)  # code inconnu : ErreurDonnees, code de sortie 2
    if args.format == "csv":
        sys.stdout.write(exporter_table(table, "csv").decode("utf-8-sig"))
        print(f"Sélection : {selection['description']} {selection['modeles_sur_grille']}", file=sys.stderr)
        return 0
    catalogue = lire_catalogue()
    aides = table.attrs["aides_par_financeur"]
    aides = aides[aides["territoire"].isin(table["territoire"])]
    codes = [c for c in [*table.columns, *aides.columns] if c in catalogue.index]
    sortie = {
        "selection": selection,
        "annee_reference": table.attrs.get("annee_reference"),
        "indicateurs": {c: {"libelle": catalogue.loc[c, "libelle"], "unite": catalogue.loc[c, "unite"]}
                        for c in codes},
        "territoires": json.loads(table.to_json(orient="records", force_ascii=False)),
        "aides_par_financeur": json.loads(aides.to_json(orient="records", force_ascii=False)),
    }
    print(json.dumps(sortie, ensure_ascii=False, indent=2))
    return 0


def commande_operations_importer(args) -> int:
    from donnees.comptes import Utilisateur
    from donnees.config import dossier_donnees, url_base
    from donnees.droits import MagasinProtege, exiger
    from donnees.import_operations import importer_fichier
    from donnees.magasin import Magasin
    from donnees.referentiel import lire_couche, lire_couche_facultative
    from donnees.erreurs import ErreurDonnees

    dossier = Path(args.dossier).resolve() if args.dossier else dossier_donnees()
    chemin = Path(args.fichier)
    if not chemin.exists():
        print(f"Erreur : fichier introuvable : {chemin}.", file=sys.stderr)
        return 2
    magasin = Magasin(url_base(dossier))
    try:
        compte = magasin.lire_utilisateur(args.utilisateur)
        if compte is None or not compte["actif"]:
            print(f"Erreur : aucun compte actif « {args.utilisateur} ». Créez-le avec `desimper utilisateur creer`.",
                  file=sys.stderr)
            return 2
        utilisateur = Utilisateur.depuis_compte(compte)
        facade = MagasinProtege(magasin, utilisateur)
        if not facade.peut("creer"):  # rôle en lecture seule : le dire tout de suite, sans lire le fichier
            try:
                exiger(utilisateur, "creer")
            except ErreurDonnees as refus:
                print(f"Erreur : {refus}", file=sys.stderr)
                return 1
        lecture = {cle: valeur for cle, valeur in (("couche", args.couche), ("crs_declare", args.crs)) if valeur}

        def progression(faites: int, total: int) -> None:
            print(f"Écriture (une transaction, validée à la fin) : {formater_nombre(faites)} / "
                  f"{formater_nombre(total)} opération(s)", file=sys.stderr, flush=True)

        apercu, rapport = importer_fichier(
            chemin, facade, utilisateur.email, args.mode, lecture=lecture, progression=progression,
            parcelles=lambda: lire_couche_facultative("parcelles", dossier), communes=lire_couche("communes", dossier),
            localiser_au_centroide=args.localiser_au_centroide)
    finally:
        magasin.fermer()
    from donnees.format import neutraliser_controles

    # Les messages citent des textes du fichier : un octet nul ou une séquence ANSI s'y affiche sans s'exécuter.
    print(neutraliser_controles(apercu.resume(), garder="\n"))
    print(neutraliser_controles(rapport.message, garder="\n"))
    return 0 if rapport.ecrit else 1


def commande_operations_exporter(args) -> int:
    from services.exports import exporter_registre

    dossier = Path(args.dossier).resolve() if args.dossier else None
    sortie = Path(args.sortie)
    sortie.write_bytes(exporter_registre(args.format, dossier))
    print(f"Opérations exportées ({args.format}) dans {sortie}.")
    return 0


def construire_analyseur() -> argparse.ArgumentParser:
    analyseur = argparse.ArgumentParser(prog="desimper", description="Désimper : registre et tableau de "
                                        "bord de la désimperméabilisation d'un bassin versant.")
    analyseur.add_argument("--territoire", metavar="CODE",
                           help="territoire de l'instance sur lequel agir (défaut : celui par défaut du registre "
                                "instance.json ; voir `desimper territoire lister`)")
    sous = analyseur.add_subparsers(dest="commande", required=True, metavar="COMMANDE")

    demo = sous.add_parser("demo", help="génère le territoire de démonstration (25 communes du bassin de Thau)",
                           description="Génère le territoire de démonstration et un compte par rôle (mots de "
                                       "passe affichés une fois). `desimper demo comptes` : nouveaux mots de "
                                       "passe pour ces comptes (territoire de démonstration seulement).")
    demo.add_argument("action", nargs="?", choices=["comptes"],
                      help="comptes : (ré)initialise les comptes de démonstration et affiche leurs mots de passe")
    demo.add_argument("--taille", choices=["petite", "complete", "departement"], default="complete",
                      help="petite : quelques milliers de parcelles (tests) ; complete : ≥ 150 000 (défaut) ; "
                           "departement : les 343 communes de l'Hérault, ~1,5 M parcelles, 50 000 opérations")
    demo.add_argument("--graine", type=int, default=42, help="graine aléatoire (défaut : 42)")
    demo.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    demo.add_argument("--si-absent", action="store_true", help="ne rien faire si un territoire existe déjà")
    demo.add_argument("--sans-modeles", action="store_true",
                      help="ne pas précalculer les modèles chaleur et eau (calculés à la première visite)")
    demo.set_defaults(fonction=commande_demo)

    verifier = sous.add_parser("verifier", help="vérifie le dossier de données et la base")
    verifier.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    verifier.set_defaults(fonction=commande_verifier)

    indicateurs = sous.add_parser("indicateurs", help="indicateurs par commune et pour le bassin (JSON ou CSV), "
                                  "sur les opérations réalisées et validées (sélection écrite dans la sortie)")
    indicateurs.add_argument("--commune", action="append", metavar="INSEE",
                             help="limiter à une commune (répétable) ; la ligne du bassin est toujours donnée")
    indicateurs.add_argument("--format", choices=["json", "csv"], default="json")
    indicateurs.add_argument("--sans-grille", action="store_true",
                             help="sans les modèles chaleur et eau sur grille (plus rapide)")
    indicateurs.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    ajouter_options_reparti(indicateurs)
    indicateurs.set_defaults(fonction=commande_indicateurs)

    operations = sous.add_parser("operations", help="opérations : importer un fichier (SIG, CSV, XLSX), exporter le "
                                 "registre")
    actions = operations.add_subparsers(dest="action", required=True, metavar="ACTION")
    importer = actions.add_parser("importer", help="importe des opérations au nom d'un compte (mêmes droits que "
                                  "dans l'application)")
    importer.add_argument("fichier", help="GeoJSON, GeoPackage, Shapefile zippé, KML, CSV ou XLSX")
    importer.add_argument("--utilisateur", required=True, metavar="EMAIL", help="compte au nom duquel importer")
    importer.add_argument("--mode", choices=["tout_ou_rien", "lignes_valides"], default="tout_ou_rien",
                          help="tout_ou_rien (défaut) : rien n'est écrit si une ligne est en erreur")
    importer.add_argument("--crs", help="système de coordonnées si le fichier n'en déclare pas (ex. EPSG:2154)")
    importer.add_argument("--couche", help="couche à lire dans un GeoPackage")
    importer.add_argument("--localiser-au-centroide", action="store_true",
                          help="placer au centre de la commune les lignes sans géométrie (localisation "
                               "approximative, surfaces non inventées)")
    importer.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    importer.set_defaults(fonction=commande_operations_importer)
    exporter = actions.add_parser("exporter", help="exporte le registre entier avec ses indicateurs (mêmes "
                                  "colonnes que le téléchargement de l'application)")
    exporter.add_argument("--format", choices=["csv", "xlsx", "geojson", "gpkg"], default="csv")
    exporter.add_argument("--sortie", required=True, metavar="FICHIER", help="fichier écrit")
    exporter.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    exporter.set_defaults(fonction=commande_operations_exporter)

    serveur = sous.add_parser("serveur", help="démarre l'application Streamlit")
    serveur.add_argument("--port", type=int, default=8501)
    serveur.add_argument("--adresse", default="localhost")
    serveur.add_argument("--processus", type=int, default=1, metavar="N",
                         help="nombre de processus Streamlit (plus d'un : PostGIS obligatoire, avec --mandataire)")
    serveur.add_argument("--mandataire", action="store_true",
                         help="nginx devant les processus, sur --adresse:--port, sessions collantes")
    serveur.add_argument("--premier-port", type=int, default=8601, metavar="PORT",
                         help="port du premier processus derrière nginx (les suivants : +1, +2…)")
    serveur.add_argument("--dossier-execution", metavar="DOSSIER",
                         help="configuration, journaux et fichiers temporaires de nginx (défaut : dossier temporaire)")
    serveur.add_argument("--ecrire-nginx", metavar="FICHIER",
                         help="écrit la configuration nginx (map, upstream, server) pour un nginx système")
    serveur.add_argument("--flux-agenda", metavar="FICHIER",
                         help="agenda abonnable (desimper agenda exporter --sortie FICHIER) servi par nginx en "
                              "/agenda.ics")
    serveur.set_defaults(fonction=commande_serveur)
    ajouter_commandes_utilisateur(sous)
    ajouter_commandes_modeles(sous)
    ajouter_commandes_referentiel(sous)
    ajouter_commandes_couches(sous)
    ajouter_commandes_sauvegarde(sous)
    ajouter_commandes_sessions(sous)
    ajouter_commandes_priorites(sous)
    ajouter_commandes_scenario(sous)
    ajouter_commande_rapport(sous)
    ajouter_commandes_notifications(sous)
    ajouter_commandes_ressources(sous)
    ajouter_commandes_agenda(sous)
    ajouter_commande_pairs(sous)  # issue 16, partie 4

    base = sous.add_parser("base", help="base des opérations : mise à niveau du schéma (migrations)")
    actions_base = base.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, aide in (("migrer", "met le schéma de la base à niveau (dernière révision)"),
                         ("version", "affiche la révision du schéma de la base et la dernière connue")):
        sous_action = actions_base.add_parser(action, help=aide)
        sous_action.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
        sous_action.set_defaults(fonction=commande_base)
    return analyseur


def commande_base(args) -> int:
    from donnees.magasin.commandes import executer_commande_base

    return executer_commande_base(args)


# Commandes qui acceptent un --dossier qui n'est pas (encore) un dossier de données : celles qui créent
# explicitement un territoire (dont `restaurer`, qui restaure dans un dossier vide ou neuf), et `verifier`, qui
# n'écrit rien et dit elle-même ce qui manque.
COMMANDES_CREATRICES = ("demo", "territoire", "verifier", "restaurer")


def _exiger_dossier_de_donnees(args) -> None:
    """Refuse (ErreurDonnees) un ``--dossier`` qui n'est pas un dossier de données de Désimper (ni
    ``territoire.json`` ni base ``desimper.sqlite``) : rien n'y est créé, sauf par une commande créatrice."""
    from donnees.config import NOM_BASE_SQLITE, NOM_FICHIER_TERRITOIRE
    from donnees.erreurs import ErreurDonnees
    from donnees.format import neutraliser_controles

    valeur = getattr(args, "dossier", None)
    if not valeur or args.commande in COMMANDES_CREATRICES:
        return
    dossier = Path(valeur).expanduser()
    nom = neutraliser_controles(valeur)
    creer = "`desimper demo --dossier …` ou `desimper territoire initialiser --dossier …`"
    if not dossier.is_dir():
        raise ErreurDonnees(f"--dossier « {nom} » : ce dossier n'existe pas. Corrigez le chemin, ou créez-y un "
                            f"territoire avec {creer}.", "arguments", "dossier")
    if not (dossier / NOM_FICHIER_TERRITOIRE).is_file() and not (dossier / NOM_BASE_SQLITE).is_file():
        raise ErreurDonnees(f"--dossier « {nom} » : ce n'est pas un dossier de données de Désimper (ni "
                            f"{NOM_FICHIER_TERRITOIRE} ni base {NOM_BASE_SQLITE}) ; rien n'y a été écrit. "
                            f"Corrigez le chemin, ou créez-y d'abord un territoire avec {creer}.",
                            "arguments", "dossier")


def _activer_territoire_cli(args):
    """``--territoire CODE`` (ou le territoire par défaut d'une instance à registre) devient le territoire actif
    de la commande : son dossier de données et sa base (``donnees.config.activer_territoire``) ; renvoie le jeton
    qui rétablit l'ancien (None sans registre)."""
    from donnees.config import activer_territoire
    from donnees.erreurs import ErreurDonnees
    from donnees.instance import chemin_instance, trouver_territoire

    code = getattr(args, "territoire", None)
    if not chemin_instance().is_file():
        if code:
            raise ErreurDonnees(f"--territoire {code} : cette instance n'a qu'un territoire (pas de registre "
                                f"{chemin_instance()}) ; `desimper territoire ajouter` en ajoute un.", "arguments",
                                "territoire")
        return None
    return activer_territoire(trouver_territoire(code).actif)


def commande_ressources_lister(args) -> int:
    from donnees.comptes import VISITEUR
    from donnees.droits import MagasinProtege
    from donnees.format import formater_date, neutraliser_controles
    from services.ressources import rechercher_ressources

    magasin = _magasin_comptes(args)
    try:
        table = rechercher_ressources(MagasinProtege(magasin, VISITEUR).lire_ressources(), args.recherche or "",
                                      genre=args.genre, theme=args.theme)
    finally:
        magasin.fermer()
    if table.empty:
        print("Aucune ressource publiée ne répond.")
        return 0
    print(f"{len(table)} ressource(s) publiée(s) :")
    for ligne in table.to_dict("records"):
        echeance = f" · échéance {formater_date(ligne['echeance'])}" if ligne["echeance"] is not None \
            and ligne["echeance"] == ligne["echeance"] else ""
        document = ligne["url"] or f"fichier {ligne['fichier_nom']}"
        # Texte des membres : contrôles et séquences ANSI affichés, jamais exécutés.
        print(f"  n° {ligne['id']} · {ligne['genre_libelle']} · {neutraliser_controles(ligne['titre'])}{echeance} · "
              f"{neutraliser_controles(document)}")
    return 0


def ajouter_commandes_ressources(sous) -> None:
    """Sous-commande `desimper ressources lister` (ressources publiées, vue publique)."""
    ressources = sous.add_parser("ressources", help="ressources de la communauté de pratiques : lister")
    actions = ressources.add_subparsers(dest="action", required=True, metavar="ACTION")
    lister = actions.add_parser("lister", help="liste les ressources publiées (recherche sans accents ni casse)")
    lister.add_argument("--recherche", help="mots cherchés dans le titre, le résumé, le fichier et les thèmes")
    lister.add_argument("--genre", help="code du genre (donnees/nomenclatures/genres_ressource.csv)")
    lister.add_argument("--theme", help="code du thème (donnees/nomenclatures/themes_ressource.csv)")
    lister.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    lister.set_defaults(fonction=commande_ressources_lister)


def main(argv: list[str] | None = None) -> int:
    """Point d'entrée de la commande `desimper`."""
    analyseur = construire_analyseur()
    args, inconnus = analyseur.parse_known_args(argv)
    if inconnus and args.commande != "serveur":
        analyseur.error(f"arguments inconnus : {' '.join(inconnus)}")
    args.options_streamlit = inconnus  # `desimper serveur … --server.headless true` : passés à Streamlit
    from donnees.erreurs import ErreurDonnees, traduire_panne
    from donnees.format import neutraliser_controles

    jeton = None
    try:
        jeton = _activer_territoire_cli(args)
        _exiger_dossier_de_donnees(args)
        return args.fonction(args)
    except ErreurDonnees as exc:
        # Le message peut citer un texte saisi (nom, adresse, chemin) : ses séquences ANSI ne s'exécutent pas.
        print(f"Erreur : {neutraliser_controles(exc, garder=chr(10))}", file=sys.stderr)
        return 2
    except Exception as exc:
        # Panne du système non traduite plus bas (disque plein, dossier en lecture seule, base injoignable) :
        # message français, sans trace ; toute autre erreur est un défaut du programme et remonte.
        panne = traduire_panne(exc, "le dossier de données")
        if panne is None:
            raise
        print(f"Erreur : {neutraliser_controles(panne, garder=chr(10))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrompu.", file=sys.stderr)
        return 130
    finally:
        if jeton is not None:  # appelée dans un processus qui continue (tests) : territoire actif rétabli
            from donnees.config import retablir_territoire

            retablir_territoire(jeton)


# ------------------------------------------------------------------------------ comptes utilisateurs


def _magasin_comptes(args):
    """Magasin du dossier de données (tables créées si absentes : premier administrateur)."""
    from donnees.config import url_base
    from donnees.magasin import Magasin

    dossier = Path(args.dossier).resolve() if args.dossier else None
    magasin = Magasin(url_base(dossier))
    magasin.creer_tables()
    return magasin


def _mot_de_passe_cli(args) -> tuple[str, bool]:
    """Mot de passe du compte et vrai s'il a été généré : option, $DESIMPER_MOT_DE_PASSE, saisie, génération."""
    import getpass

    from donnees.comptes import generer_mot_de_passe, verifier_politique_mot_de_passe
    from donnees.erreurs import ErreurDonnees

    if args.mot_de_passe:
        return args.mot_de_passe, False
    variable = os.environ.get("DESIMPER_MOT_DE_PASSE", "")
    if variable:
        return variable, False
    if sys.stdin is not None and sys.stdin.isatty():
        for _ in range(3):
            premier = getpass.getpass("Mot de passe (12 caractères au moins) : ")
            try:
                verifier_politique_mot_de_passe(premier, args.email)
            except ErreurDonnees as exc:
                print(exc, file=sys.stderr)
                continue
            if getpass.getpass("Mot de passe (confirmation) : ") == premier:
                return premier, False
            print("Les deux saisies diffèrent : recommencez.", file=sys.stderr)
        raise ErreurDonnees("Mot de passe non confirmé après trois essais : compte non créé.", "utilisateur")
    return generer_mot_de_passe(), True


def commande_utilisateur_creer(args) -> int:
    from donnees.comptes import creer_compte
    from donnees.format import neutraliser_controles

    mot_de_passe, genere = _mot_de_passe_cli(args)
    magasin = _magasin_comptes(args)
    try:
        compte = creer_compte(magasin, args.email, args.nom, args.role, args.communes or "", mot_de_passe,
                              auteur=f"cli:{_compte_systeme()}")
    finally:
        magasin.fermer()
    communes = f", communes {', '.join(sorted(compte.communes))}" if compte.communes else ""
    print(f"Compte créé : {neutraliser_controles(compte.email)} ({neutraliser_controles(compte.nom)}), "
          f"{compte.libelle_role}{communes}.")
    if genere:
        print(f"Mot de passe généré (affiché une seule fois, transmettez-le par un canal sûr) : {mot_de_passe}")
    return 0


def _compte_systeme() -> str:
    """Compte système qui lance la commande (pour le journal)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pas de compte système identifiable (conteneur sans entrée passwd…)
        return "inconnu"


def commande_utilisateur_lister(args) -> int:
    from donnees import nomenclatures
    from donnees.comptes import lister_comptes
    from donnees.format import neutraliser_controles

    magasin = _magasin_comptes(args)
    try:
        table = lister_comptes(magasin)
    finally:
        magasin.fermer()
    if table.empty:
        print("Aucun compte. Créez le premier administrateur : desimper utilisateur creer --role administrateur …")
        return 0
    print(f"{len(table)} compte(s) :")
    for ligne in table.itertuples():
        etat = "actif" if ligne.actif else "désactivé"
        communes = ", ".join(ligne.communes) or "—"
        connexion = ligne.derniere_connexion
        connexion = "jamais" if connexion is None or connexion != connexion else f"{connexion:%Y-%m-%d %H:%M} UTC"
        # Nom et adresse saisis par un administrateur : séquences ANSI et contrôles affichés, jamais exécutés.
        print(f"  {neutraliser_controles(ligne.email)} · {neutraliser_controles(ligne.nom)} · "
              f"{nomenclatures.ROLES.get(ligne.role, ligne.role)} · "
              f"communes : {communes} · {etat} · dernière connexion : {connexion}")
    return 0


def ajouter_commandes_utilisateur(sous) -> None:
    """Sous-commandes `desimper utilisateur creer|lister`."""
    utilisateur = sous.add_parser("utilisateur", help="comptes : créer (dont le premier administrateur), lister")
    actions = utilisateur.add_subparsers(dest="action", required=True, metavar="ACTION")
    creer = actions.add_parser(
        "creer", help="crée un compte",
        description="Crée un compte. Sans --mot-de-passe : $DESIMPER_MOT_DE_PASSE, sinon saisie masquée "
                    "(deux fois) dans un terminal, sinon mot de passe généré et affiché une fois.")
    creer.add_argument("--email", required=True, help="adresse électronique (identifiant de connexion)")
    creer.add_argument("--nom", required=True, help="prénom et nom")
    creer.add_argument("--role", required=True, choices=["administrateur", "referent", "financeur"])
    creer.add_argument("--communes", help="codes INSEE séparés par des virgules (obligatoire pour un référent)")
    creer.add_argument("--mot-de-passe", dest="mot_de_passe",
                       help="mot de passe (12 caractères au moins ; attention, visible dans l'historique du shell)")
    creer.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    creer.set_defaults(fonction=commande_utilisateur_creer)
    lister = actions.add_parser("lister", help="liste les comptes")
    lister.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    lister.set_defaults(fonction=commande_utilisateur_lister)


def _dossier_de(args) -> Path:
    """Dossier de données de la commande (option --dossier, sinon celui configuré)."""
    from donnees.config import dossier_donnees

    return Path(args.dossier).resolve() if args.dossier else dossier_donnees()


def _mode_invest(args, requis: tuple[str, ...]) -> bool:
    """Vrai si les fichiers InVEST sont donnés (tous ou aucun, sinon ErreurDonnees ; --valider sans eux aussi)."""
    from donnees.erreurs import ErreurDonnees

    fournis = [nom for nom in requis if getattr(args, nom)]
    if fournis and len(fournis) < len(requis):
        manquants = ", ".join("--" + n.replace("_", "-") for n in requis if not getattr(args, n))
        raise ErreurDonnees(f"Mode InVEST incomplet : il manque {manquants}.", "arguments")
    if not fournis and getattr(args, "valider", False):
        raise ErreurDonnees(f"--valider s'emploie en mode InVEST seulement : donnez aussi "
                            f"{', '.join('--' + n.replace('_', '-') for n in requis)}.", "arguments")
    return bool(fournis)


def _afficher(table, colonnes: dict[str, str]) -> None:
    """Table en texte, nombres à 3 décimales avec virgule."""
    vue = table[list(colonnes)].rename(columns=colonnes)
    print(vue.to_string(index=False, float_format=lambda v: formater_nombre(v, 3)))


def _rendre_validation(problemes: list) -> int:
    """`--valider` : 0 et « Entrées valides » ; sinon les problèmes (ErreurEntreesInvest, code 2)."""
    from donnees.validation_invest import exiger_entrees_valides

    exiger_entrees_valides(problemes)
    print("Entrées InVEST valides : rien n'a été calculé ni écrit (relancez sans --valider pour calculer).")
    return 0


def commande_chaleur(args) -> int:
    """`desimper chaleur` : territoire du projet, ou fichiers InVEST."""
    from services import modeles as invest

    sortie = Path(args.sortie).resolve()
    if _mode_invest(args, ("occupation", "biophysique", "et0", "zones", "parametres")):
        if args.valider:
            return _rendre_validation(invest.valider_chaleur_invest(args.occupation, args.biophysique, args.et0,
                                                                    args.zones, args.parametres, sortie))
        res = invest.executer_chaleur_invest(args.occupation, args.biophysique, args.et0, args.zones,
                                             args.parametres, sortie)
        print("Modèle de rafraîchissement urbain (InVEST, méthode des facteurs) : moyennes par zone")
        _afficher(res["zones"], {c: c for c in res["zones"].columns})
    else:
        debut = time.perf_counter()
        modeles = invest.calculer_modeles_territoire(_dossier_de(args), avec_eau=False, **_options_reparti(args))
        invest.ecrire_sorties_territoire(modeles, sortie, eau=False)
        print(f"Chaleur sur le territoire ({modeles.chaleur.grille.hauteur} × "
              f"{modeles.chaleur.grille.largeur} cellules de {modeles.chaleur.grille.resolution:g} m) en "
              f"{formater_nombre(time.perf_counter() - debut, 1, 's')}, cellules urbaines :")
        _afficher(modeles.chaleur.communes, {"code_insee": "commune", "scenario": "scénario",
                                             "t_air_moyenne_c": "T_air (°C)",
                                             "anomalie_moyenne_c": "anomalie (°C)",
                                             "surface_ilot_chaleur_m2": "îlot de chaleur (m²)",
                                             "delta_t_air_c": "écart (°C)"})
    print(f"Résultats écrits dans {sortie}")
    return 0


def commande_eau(args) -> int:
    """`desimper eau` : territoire du projet, ou fichiers InVEST."""
    from services import modeles as invest

    sortie = Path(args.sortie).resolve()
    if _mode_invest(args, ("occupation", "biophysique", "groupe_sol", "zones")):
        if args.valider:
            return _rendre_validation(invest.valider_eau_invest(args.occupation, args.biophysique, args.groupe_sol,
                                                                args.pluie, args.zones, args.parametres, sortie))
        res = invest.executer_eau_invest(args.occupation, args.biophysique, args.groupe_sol, args.pluie,
                                         args.zones, sortie, args.parametres)
        print("Modèle de rétention des eaux pluviales (InVEST) : totaux par zone (m³/an)")
        _afficher(res["zones"], {c: c for c in res["zones"].columns})
    else:
        modeles = invest.calculer_modeles_territoire(_dossier_de(args), **_options_reparti(args))
        invest.ecrire_sorties_territoire(modeles, sortie, chaleur=False)
        print("Eau sur le territoire (volumes annuels, m³/an) :")
        _afficher(modeles.eau_communes, {"code_insee": "commune", "scenario": "scénario",
                                         "volume_retention_m3_an": "retenu",
                                         "volume_ruissellement_m3_an": "ruisselé",
                                         "volume_percolation_m3_an": "percolé",
                                         "delta_volume_retention_m3_an": "retenu en plus"})
    print(f"Résultats écrits dans {sortie}")
    return 0


def _options_reparti(args) -> dict:
    """Calcul en tuiles sur Dask (``--reparti``, ``--processus N``) ; progression et messages sur l'erreur
    standard (la sortie standard porte les résultats)."""
    processus = getattr(args, "processus_dask", None)
    if processus is not None and processus < 1:
        from donnees.erreurs import ErreurDonnees

        raise ErreurDonnees(f"--processus {processus} : donnez un nombre de processus ≥ 1.", "processus")
    return {"reparti": bool(getattr(args, "reparti", False)), "processus": processus, "progression": sys.stderr,
            "rappel": lambda texte: print(texte, file=sys.stderr)}


def ajouter_options_reparti(analyseur) -> None:
    """Options du calcul en tuiles réparti sur Dask (chaleur et eau sur grille)."""
    analyseur.add_argument("--reparti", action="store_true",
                           help="grilles chaleur et eau en tuiles sur une grappe Dask (ordonnanceur de "
                                "DESIMPER_DASK_SCHEDULER ou de territoire.json, sinon grappe locale)")
    analyseur.add_argument("--processus", dest="processus_dask", type=int, metavar="N",
                           help="grilles en tuiles sur une grappe Dask locale de N processus")


def ajouter_commandes_modeles(sous) -> None:
    """Sous-commandes `desimper chaleur` et `desimper eau` : territoire du projet, ou fichiers InVEST."""
    aide_dossier = "dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)"
    aide_valider = "mode InVEST : valide les entrées (tous les problèmes à la fois) sans calculer ni écrire"
    chaleur = sous.add_parser(
        "chaleur", help="modèle de chaleur (InVEST Urban Cooling) : territoire, ou fichiers InVEST",
        description="Sans fichier d'entrée : territoire du dossier de données, 3 scénarios, table par commune. "
                    "Avec --occupation --biophysique --et0 --zones --parametres : mode InVEST.")
    chaleur.add_argument("--dossier", help=aide_dossier)
    chaleur.add_argument("--sortie", default="sorties_chaleur",
                         help="dossier des résultats (défaut : sorties_chaleur)")
    chaleur.add_argument("--occupation", help="GeoTIFF d'occupation du sol (lucode)")
    chaleur.add_argument("--biophysique", help="table biophysique CSV (lucode, kc, green_area, shade, albedo)")
    chaleur.add_argument("--et0", help="GeoTIFF d'évapotranspiration de référence (mm/jour)")
    chaleur.add_argument("--zones", help="vecteur des zones d'agrégation (GeoJSON, GeoPackage)")
    chaleur.add_argument("--parametres", help="JSON des paramètres (distances, T_ref, UHI_max, poids)")
    chaleur.add_argument("--valider", action="store_true", help=aide_valider)
    ajouter_options_reparti(chaleur)
    chaleur.set_defaults(fonction=commande_chaleur)

    eau = sous.add_parser(
        "eau", help="modèle d'eau (InVEST Urban Stormwater Retention) : territoire, ou fichiers InVEST",
        description="Sans fichier d'entrée : territoire du dossier de données, 3 scénarios, table par commune. "
                    "Avec --occupation --biophysique --groupe-sol --pluie --zones [--parametres] : mode InVEST.")
    eau.add_argument("--dossier", help=aide_dossier)
    eau.add_argument("--sortie", default="sorties_eau", help="dossier des résultats (défaut : sorties_eau)")
    eau.add_argument("--occupation", help="GeoTIFF d'occupation du sol (lucode)")
    eau.add_argument("--biophysique", help="table biophysique CSV (lucode, rc_a…rc_d ou rc, pe_a…pe_d ou pe)")
    eau.add_argument("--groupe-sol", dest="groupe_sol", help="GeoTIFF des groupes hydrologiques de sol (1 à 4)")
    eau.add_argument("--pluie", help="GeoTIFF de pluie annuelle (mm/an)")
    eau.add_argument("--zones", help="vecteur des zones d'agrégation (GeoJSON, GeoPackage)")
    eau.add_argument("--parametres", help="JSON des paramètres (precipitation_mm_per_year si pas de --pluie)")
    eau.add_argument("--valider", action="store_true", help=aide_valider)
    ajouter_options_reparti(eau)
    eau.set_defaults(fonction=commande_eau)


# ------------------------------------------------------------------------ territoire réel et référentiel


def commande_territoire_initialiser(args) -> int:
    from donnees.config import dossier_donnees
    from donnees.territoire import initialiser_territoire

    dossier = Path(args.dossier).resolve() if args.dossier else dossier_donnees()
    # Aucune surcharge : le territoire suit les valeurs par défaut du projet (et leurs mises à jour).
    description = initialiser_territoire(args.nom, args.insee, dossier, remplacer=args.remplacer)
    if description["archive"]:
        print(f"Ancien territoire rangé dans {description['archive']}.")
    from donnees.config import url_base
    from donnees.magasin import Magasin

    magasin = Magasin(url_base(dossier))
    try:
        magasin.creer_tables()  # base des opérations prête (vide, ou gardée si elle existait)
    finally:
        magasin.fermer()
    print(f"Territoire « {description['nom']} » initialisé dans {dossier} : {len(description['codes_insee'])} "
          "communes.")
    print("Paramètres des modèles : valeurs par défaut du projet (page Méthode) ; les valeurs propres au "
          "territoire se donnent, avec leur source, dans Administration → Paramètres.")
    print("Étape suivante : desimper importer communes (puis parcelles, batiments, occupation).")
    return 0


def commande_territoire_lister(args) -> int:
    from donnees.format import neutraliser_controles
    from donnees.instance import chemin_instance, compter_territoire, lister_territoires

    territoires = lister_territoires()
    registre = chemin_instance()
    source = registre if registre.is_file() else "(aucun : dossier de données unique)"
    print(f"{len(territoires)} territoire(s) — registre {source}")
    lignes = [("", "Code", "Nom", "Dossier", "Base", "Communes", "Opérations")]
    for territoire in territoires:
        chiffres = compter_territoire(territoire)
        lignes.append(("*" if territoire.defaut else "", territoire.code, neutraliser_controles(territoire.nom),
                       str(territoire.dossier), territoire.base_affichee,
                       "—" if chiffres["communes"] is None else formater_nombre(chiffres["communes"]),
                       "—" if chiffres["operations"] is None else formater_nombre(chiffres["operations"])))
    largeurs = [max(len(ligne[i]) for ligne in lignes) for i in range(len(lignes[0]))]
    for ligne in lignes:
        print("  ".join(valeur.ljust(largeur) for valeur, largeur in zip(ligne, largeurs)).rstrip())
    print("* : territoire ouvert par défaut.")
    return 0


def _creer_donnees_territoire(args, territoire) -> None:
    """Crée les données du nouveau territoire dans son dossier (démonstration, ou territoire réel par codes INSEE),
    ou vérifie que le dossier en contient déjà un."""
    from donnees.config import chemin_territoire, dans_territoire
    from donnees.erreurs import ErreurDonnees

    present = chemin_territoire(territoire.dossier).exists()
    with dans_territoire(territoire.actif):  # sa base : celle du registre (ou SQLite dans son dossier)
        if args.demo:
            if present:
                raise ErreurDonnees(f"Le dossier {territoire.dossier} contient déjà un territoire : sans --demo ni "
                                    "--insee, `territoire ajouter` l'enregistre tel quel.", "instance", "dossier")
            from donnees.demo import generer_demo

            print(f"Génération de la démonstration ({args.demo}, graine {args.graine}) dans {territoire.dossier}…")
            from donnees.referentiel import ecrire_territoire, lire_territoire

            generer_demo(territoire.dossier, taille=args.demo, graine=args.graine, url_base=territoire.url)
            ecrire_territoire({**lire_territoire(territoire.dossier), "nom": territoire.nom}, territoire.dossier)
            if not args.sans_modeles:
                from services.modeles import calculer_modeles_territoire

                print("Préparation des modèles chaleur et eau (mis en cache pour l'application)…", flush=True)
                calculer_modeles_territoire(territoire.dossier)
            _afficher_comptes_demo(territoire.dossier)
        elif args.insee:
            args.dossier, args.remplacer = str(territoire.dossier), False
            commande_territoire_initialiser(args)
        elif not present:
            raise ErreurDonnees(f"Le dossier {territoire.dossier} ne contient pas de territoire (pas de "
                                "territoire.json) : passez --insee CODES (territoire réel) ou --demo petite.",
                                "instance", "dossier")


def commande_territoire_ajouter(args) -> int:
    from donnees.instance import chemin_instance, enregistrer_instance, preparer_ajout

    migration = not chemin_instance().is_file()
    instance, territoire = preparer_ajout(args.code, args.nom, args.dossier_territoire, args.base_url,
                                          args.code_existant)
    _creer_donnees_territoire(args, territoire)
    chemin = enregistrer_instance(instance)  # en dernier : un échec plus haut n'enregistre rien
    if migration and len(instance.territoires) > 1:
        premier = instance.territoires[0]
        print(f"Registre {chemin} créé : le dossier existant est le territoire « {premier.code} » "
              "(aucun fichier déplacé).")
    print(f"Territoire « {territoire.nom} » ({territoire.code}) ajouté : {territoire.dossier}. "
          f"Utilisez-le avec `desimper --territoire {territoire.code} …` ou ?territoire={territoire.code} dans "
          "l'application.")
    return 0


def ajouter_commandes_instance(actions) -> None:
    """Sous-commandes `desimper territoire lister|ajouter` (registre instance.json, voir donnees/instance.py)."""
    lister = actions.add_parser("lister", help="liste les territoires de l'instance (code, nom, dossier, base, "
                                               "communes, opérations)")
    lister.set_defaults(fonction=commande_territoire_lister)
    ajouter = actions.add_parser(
        "ajouter", help="ajoute un territoire à l'instance (son dossier de données, sa base, ses comptes)",
        description="Ajoute un territoire au registre instance.json du dossier de l'instance ($DESIMPER_INSTANCE, "
                    "sinon le dossier de données). Sans registre, le dossier de données existant est d'abord "
                    "enregistré comme premier territoire (aucun fichier déplacé). Le dossier du nouveau territoire "
                    "reçoit une démonstration (--demo), un territoire réel (--insee) ou en contient déjà un.")
    ajouter.add_argument("--code", required=True, help="code court : minuscules ASCII, chiffres, tirets")
    ajouter.add_argument("--nom", required=True, help="nom du territoire")
    ajouter.add_argument("--dossier", dest="dossier_territoire", required=True,
                         help="son dossier de données (relatif au dossier de l'instance, ou absolu)")
    source = ajouter.add_mutually_exclusive_group()
    source.add_argument("--insee", metavar="CODES", help="territoire réel : codes INSEE de ses communes")
    source.add_argument("--demo", choices=["petite", "complete"], help="territoire de démonstration")
    ajouter.add_argument("--graine", type=int, default=7, help="graine de la démonstration (défaut : 7)")
    ajouter.add_argument("--sans-modeles", action="store_true",
                         help="démonstration : ne pas précalculer les modèles chaleur et eau")
    ajouter.add_argument("--base-url", dest="base_url", metavar="URL",
                         help="base du territoire (PostgreSQL : une base ou un schéma à lui), ou $VARIABLE "
                              "d'environnement qui la donne ; défaut : SQLite dans son dossier")
    ajouter.add_argument("--code-existant", dest="code_existant", metavar="CODE",
                         help="code du territoire déjà présent quand le registre est créé (défaut : tiré de son nom)")
    ajouter.set_defaults(fonction=commande_territoire_ajouter)


def commande_importer(args) -> int:
    from donnees.config import dossier_donnees
    from donnees.import_referentiel import importer_couche
    from donnees.referentiel import couche_presente, lire_couche

    dossier = Path(args.dossier).resolve() if args.dossier else dossier_donnees()
    debut = time.perf_counter()
    if args.couche in COUCHES_CRITERES_IMPORTABLES:
        from donnees.import_criteres import importer_critere

        rapport = importer_critere(
            args.couche, dossier, telecharger=True if args.telecharger else None, fichiers=args.depuis,
            forcer=args.forcer, millesime=args.millesime, crs=args.crs, couche_fichier=args.couche_fichier,
            colonne=args.colonne, valeurs=args.valeur, classe=args.classe, progression=sys.stderr.isatty())
    else:
        if args.colonne or args.valeur or args.classe:
            from donnees.erreurs import ErreurDonnees

            raise ErreurDonnees("--colonne, --valeur et --classe ne valent que pour les couches de critères "
                                f"({', '.join(COUCHES_CRITERES_IMPORTABLES)}).", "import")
        rapport = importer_couche(
            args.couche, dossier, telecharger=True if args.telecharger else None, fichiers=args.depuis,
            forcer=args.forcer, millesime=args.millesime, crs=args.crs, couche_fichier=args.couche_fichier,
            colonne_couverture=args.colonne_couverture, correspondance=args.correspondance,
            progression=sys.stderr.isatty())
    noms = {}
    if couche_presente("communes", dossier):
        communes = lire_couche("communes", dossier, colonnes=["code_insee", "nom"], valider=False)
        noms = dict(zip(communes["code_insee"], communes["nom"]))
    for ligne in rapport.lignes(noms):
        print(ligne)
    print(f"Terminé en {formater_nombre(time.perf_counter() - debut, 1, 's')}.")
    return 0


def commande_couches_partitionner(args) -> int:
    from donnees.config import dossier_donnees
    from donnees.partitions import COLONNES_PARTITION, est_partitionnee, lister_communes, partitionner_couche

    dossier = Path(args.dossier).resolve() if args.dossier else dossier_donnees()
    converties = 0
    for nom in COLONNES_PARTITION:
        if est_partitionnee(nom, dossier):
            print(f"{nom} : déjà rangée par commune ({formater_nombre(len(lister_communes(nom, dossier)))} communes).")
        elif (dossier / f"{nom}.parquet").exists():
            partitionner_couche(nom, dossier)
            converties += 1
            print(f"{nom} : rangée par commune ({formater_nombre(len(lister_communes(nom, dossier)))} communes).")
    print(f"{converties} couche(s) convertie(s) dans {dossier}.")
    return 0


def ajouter_commandes_couches(sous) -> None:
    """Sous-commande `desimper couches partitionner` : range par commune les couches de l'ancien format."""
    couches = sous.add_parser("couches", help="couches du référentiel : ranger par commune (GeoParquet partitionné)")
    actions = couches.add_subparsers(dest="action", required=True, metavar="ACTION")
    partitionner = actions.add_parser(
        "partitionner", help="convertit parcelles, occupation et bâtiments de l'ancien fichier unique en "
                             "partitions par commune (code_insee=…), validées une dernière fois")
    partitionner.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    partitionner.set_defaults(fonction=commande_couches_partitionner)


def ajouter_commandes_referentiel(sous) -> None:
    """Sous-commandes `desimper territoire initialiser` et `desimper importer COUCHE`."""
    aide_dossier = "dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)"
    territoire = sous.add_parser("territoire", help="territoires : initialiser par codes INSEE, lister et ajouter "
                                                    "ceux de l'instance")
    actions = territoire.add_subparsers(dest="action", required=True, metavar="ACTION")
    initialiser = actions.add_parser(
        "initialiser", help="écrit territoire.json (nom, codes INSEE, paramètres par défaut, sources)",
        description="Écrit le fichier du territoire dans le dossier de données. Un territoire existant n'est "
                    "remplacé qu'avec --remplacer : ses fichiers sont alors rangés dans archives/ (pour la "
                    "démonstration : couches, base SQLite, photos ; pour un territoire réel : couches seulement, "
                    "la base des opérations est gardée). Adresses des sources : variables DESIMPER_URL_GEO_API et "
                    "DESIMPER_URL_CADASTRE, sinon clé « sources » de territoire.json.")
    initialiser.add_argument("--nom", required=True, help="nom du territoire, par exemple \"Bassin de Thau\"")
    initialiser.add_argument("--insee", required=True, metavar="CODES",
                             help="codes INSEE des communes, séparés par des virgules (34301,34157,…)")
    initialiser.add_argument("--remplacer", action="store_true",
                             help="remplacer le territoire existant (démonstration ou réel), rangé dans archives/")
    initialiser.add_argument("--dossier", help=aide_dossier)
    initialiser.set_defaults(fonction=commande_territoire_initialiser)
    ajouter_commandes_instance(actions)

    importer = sous.add_parser(
        "importer", help="importe une couche réelle : communes, parcelles, batiments, occupation, ou un critère "
                         "du potentiel : sol, nappe, sites_pollues, captages, cavites",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Importe une couche du référentiel pour les communes du territoire, la valide et la "
                    "remplace d'un seul coup\n(un import refusé laisse la couche précédente en place).\n\n"
                    "  communes    geo.api.gouv.fr, ou fichier IGN ADMIN EXPRESS (Shapefile, GeoPackage) ou GeoJSON\n"
                    "  parcelles   cadastre Etalab, un fichier par commune (cadastre-<insee>-parcelles.json.gz)\n"
                    "  batiments   cadastre Etalab, un fichier par commune (cadastre-<insee>-batiments.json.gz)\n"
                    "  occupation  GeoPackage IGN OCS GE du département (--depuis obligatoire), découpé par les\n"
                    "              communes ; ou autre couche avec --colonne-couverture et --correspondance\n"
                    "  nappe, sites_pollues, cavites   API Géorisques (BRGM), une requête par commune, ou fichier\n"
                    "  sol, captages                   fichier seulement (--depuis) : pas de service national ouvert\n"
                    "  (critères : classe lue dans --colonne, valeurs traduites par --valeur SOURCE=CLASSE)\n\n"
                    "Sans --telecharger ni --depuis : communes, parcelles, bâtiments, nappe, sites pollués et\n"
                    "cavités sont téléchargés.\n"
                    "Hors ligne : téléchargez les fichiers ailleurs et passez-les avec --depuis.",
        epilog="Exemples :\n"
               "  desimper importer communes\n"
               "  desimper importer parcelles --telecharger\n"
               "  desimper importer parcelles --depuis cadastre-34301-parcelles.json.gz "
               "cadastre-34157-parcelles.json.gz\n"
               "  desimper importer occupation --depuis OCS-GE_D034.gpkg\n"
               "  desimper importer sites_pollues\n"
               "  desimper importer captages --depuis perimetres.gpkg --colonne TYPE_PERIM --valeur 'P1=immediat'")
    importer.add_argument("couche", choices=["communes", "parcelles", "batiments", "occupation",
                                             *COUCHES_CRITERES_IMPORTABLES], help="couche à importer")
    source = importer.add_mutually_exclusive_group()
    source.add_argument("--telecharger", action="store_true",
                        help="télécharger depuis les sources officielles (défaut, sauf pour occupation)")
    source.add_argument("--depuis", nargs="+", metavar="FICHIER",
                        help="fichiers locaux (un ou plusieurs : GeoJSON, .json.gz, GeoPackage, Shapefile)")
    importer.add_argument("--forcer", action="store_true", help="retélécharger même ce qui est déjà en cache")
    importer.add_argument("--millesime", help="millésime des données (ex. 2025-04-01), sinon déduit de la source")
    importer.add_argument("--crs", help="système de coordonnées des fichiers qui n'en déclarent pas (ex. EPSG:2154) ; "
                                        "pour un critère, remplace aussi un système déclaré faux")
    importer.add_argument("--couche", dest="couche_fichier", metavar="NOM",
                          help="couche à lire dans un GeoPackage (défaut : OCCUPATION_SOL, COMMUNE ou "
                               "l'unique couche)")
    importer.add_argument("--colonne-couverture", dest="colonne_couverture", metavar="COLONNE",
                          help="occupation hors OCS GE : colonne de couverture du sol du fichier")
    importer.add_argument("--correspondance", metavar="TABLE.csv",
                          help="occupation hors OCS GE : table CSV valeur → code_cs [code_us] ou revetement")
    importer.add_argument("--colonne", metavar="NOM",
                          help="critère : colonne du fichier qui porte la classe (groupe de sol, classe de nappe, "
                               "périmètre, type de site ; nature d'une cavité)")
    importer.add_argument("--valeur", action="append", metavar="SOURCE=CLASSE",
                          help="critère : traduit une valeur du fichier en classe (répétable), "
                               "ex. --valeur 'P1=immediat'")
    importer.add_argument("--classe", metavar="CLASSE",
                          help="critère : même classe pour tout le fichier (ex. --classe SIS pour un fichier de SIS)")
    importer.add_argument("--dossier", help=aide_dossier)
    importer.set_defaults(fonction=commande_importer)


# ------------------------------------------------------------------------------ sauvegardes


def commande_sauvegarder(args) -> int:
    from donnees.format import neutraliser_controles
    from donnees.sauvegarde import decrire_manifeste, sauvegarder

    debut = time.perf_counter()
    manifeste = sauvegarder(_dossier_de(args), Path(args.vers))
    print(f"Sauvegarde écrite dans {neutraliser_controles(Path(args.vers).resolve())} en "
          f"{formater_nombre(time.perf_counter() - debut, 1, 's')} : {decrire_manifeste(manifeste)}.")
    return 0


def commande_restaurer(args) -> int:
    from donnees.format import neutraliser_controles
    from donnees.sauvegarde import decrire_manifeste, restaurer

    dossier = Path(args.dossier).expanduser().resolve()
    resultat = restaurer(Path(args.archive), dossier, remplacer=args.remplacer)
    print(f"Territoire restauré dans {neutraliser_controles(dossier)} : {decrire_manifeste(resultat['manifeste'])}.")
    if resultat["ancien"]:
        print(f"L'ancien territoire a été rangé dans {neutraliser_controles(resultat['ancien'])}.")
    print("Les sessions de connexion de la sauvegarde sont fermées : chacun se reconnecte.")
    return 0


def ajouter_commandes_sauvegarde(sous) -> None:
    """Commandes `desimper sauvegarder` et `desimper restaurer`."""
    sauvegarde = sous.add_parser(
        "sauvegarder", help="sauvegarde le territoire (dossier de données et base) dans une archive",
        description="Écrit une archive tar (gzip si son nom finit par .gz) : copie cohérente de la base (API de "
                    "sauvegarde de SQLite, ou pg_dump pour PostgreSQL), fichiers du dossier de données (sans cache/ "
                    "ni archives/), manifeste (version du schéma, comptes par table, fichiers) et empreintes SHA-256. "
                    "Peut tourner pendant que l'application écrit.")
    sauvegarde.add_argument("--vers", required=True, metavar="ARCHIVE", help="archive à écrire (jamais écrasée)")
    sauvegarde.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    sauvegarde.set_defaults(fonction=commande_sauvegarder)
    restauration = sous.add_parser(
        "restaurer", help="restaure une archive de `desimper sauvegarder` dans un dossier",
        description="Vérifie l'archive (empreintes SHA-256, comptes de la base) puis restaure le territoire. Un "
                    "dossier qui contient déjà un territoire n'est remplacé qu'avec --remplacer : l'ancien est rangé "
                    "dans archives/avant-restauration-<date>/. Arrêtez l'application pendant la restauration.")
    restauration.add_argument("archive", help="archive écrite par `desimper sauvegarder`")
    restauration.add_argument("--dossier", required=True, help="dossier de données où restaurer")
    restauration.add_argument("--remplacer", action="store_true",
                              help="remplacer le territoire présent (rangé d'abord dans archives/)")
    restauration.set_defaults(fonction=commande_restaurer)


# ------------------------------------------------------------------------------ sessions


def commande_sessions_purger(args) -> int:
    from donnees.sessions import purger_sessions_expirees

    magasin = _magasin_comptes(args)
    try:
        nombre = purger_sessions_expirees(magasin)
    finally:
        magasin.fermer()
    print(f"{formater_nombre(nombre)} session(s) expirée(s) supprimée(s) (durée de vie absolue passée).")
    return 0


def ajouter_commandes_sessions(sous) -> None:
    """Commande `desimper sessions purger`."""
    sessions = sous.add_parser("sessions", help="sessions de connexion : purger les sessions expirées")
    actions = sessions.add_subparsers(dest="action", required=True, metavar="ACTION")
    purger = actions.add_parser("purger", help="supprime les sessions dont la durée de vie absolue est passée "
                                "(aussi fait à chaque connexion)")
    purger.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    purger.set_defaults(fonction=commande_sessions_purger)


# ------------------------------------------------------------------------------------ priorités par commune


def commande_priorites_calculer(args) -> int:
    """`desimper priorites calculer` : priorités de chaque commune sur Dask, stockées ; bilan par commune."""
    from services.priorites import calculer_priorites_territoire, decrire_bilan

    debut = time.perf_counter()
    rappel, fermer = _barre_progression()
    try:
        bilan = calculer_priorites_territoire(_dossier_de(args), args.commune, args.processus, args.forcer,
                                              progression=rappel, annoncer=lambda texte: print(texte, file=sys.stderr))
    finally:
        fermer()
    for ligne in decrire_bilan(bilan):
        print(ligne)
    print(f"Durée : {formater_nombre(time.perf_counter() - debut, 1, 's')}.")
    return 1 if len(bilan) and bilan["statut"].eq("erreur").any() else 0


def ajouter_commandes_priorites(sous) -> None:
    """Commande `desimper priorites calculer [--commune INSEE] [--processus N] [--forcer]`."""
    priorites = sous.add_parser("priorites", help="parcelles prioritaires : calculer et stocker celles de chaque "
                                "commune (les pages les relisent)")
    actions = priorites.add_subparsers(dest="action", required=True, metavar="ACTION")
    calculer = actions.add_parser(
        "calculer", help="calcule les priorités commune par commune (une tâche Dask par commune) et les stocke",
        description="Une tâche par commune sur la grappe Dask (locale par défaut, ou l'ordonnanceur de "
                    "DESIMPER_DASK_SCHEDULER / dask.ordonnanceur de territoire.json). Les communes déjà à jour "
                    "ne sont pas recalculées ; une commune en échec est nommée, les autres sont calculées.")
    calculer.add_argument("--commune", action="append", metavar="INSEE",
                          help="limiter à une commune (répétable ; défaut : toutes celles du territoire)")
    calculer.add_argument("--processus", type=int, metavar="N",
                          help="processus de la grappe locale (défaut : DESIMPER_DASK_PROCESSUS, dask.processus, 1)")
    calculer.add_argument("--forcer", action="store_true", help="recalculer aussi les communes déjà à jour")
    calculer.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    calculer.set_defaults(fonction=commande_priorites_calculer)


# ------------------------------------------------------------------------------------ scénarios prospectifs


def commande_scenario_lister(args) -> int:
    """`desimper scenario lister` : scénarios du territoire."""
    from services.scenarios import lister_scenarios

    table = lister_scenarios(_dossier_de(args))
    if table.empty:
        print("Aucun scénario. Le syndicat en crée depuis la page Scénarios de l'application.")
        return 0
    print(table.to_string(index=False))
    return 0


def commande_scenario_calculer(args) -> int:
    """`desimper scenario calculer N [N…]` : effets comparés aux seules opérations programmées."""
    from services.scenarios import calculer_scenarios

    debut = time.perf_counter()
    comparaison, _ = calculer_scenarios([int(n) for n in args.scenarios], _dossier_de(args))
    print(comparaison.to_string(index=False))
    print("Effets au-delà des opérations réalisées du registre (validées) ; coût : médiane du registre (1er – 3e "
          "quartile).")
    print(f"Durée : {formater_nombre(time.perf_counter() - debut, 1, 's')}.")
    return 0


def commande_scenario_exporter(args) -> int:
    """`desimper scenario exporter N --sortie FICHIER` : sites et effets, GeoJSON ou CSV (selon l'extension)."""
    from services.scenarios import exporter_scenario

    sortie = Path(args.sortie)
    format_sortie = args.format or ("csv" if sortie.suffix.lower() == ".csv" else "geojson")
    sortie.write_bytes(exporter_scenario(int(args.scenario), format_sortie, _dossier_de(args)))
    print(f"Scénario n° {args.scenario} exporté ({format_sortie}) dans {sortie}.")
    return 0


def ajouter_commandes_scenario(sous) -> None:
    """Commandes `desimper scenario lister|calculer|exporter`."""
    scenario = sous.add_parser("scenario", help="scénarios prospectifs : lister, calculer leur effet, exporter")
    actions = scenario.add_subparsers(dest="action", required=True, metavar="ACTION")
    lister = actions.add_parser("lister", help="liste les scénarios du territoire")
    lister.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    lister.set_defaults(fonction=commande_scenario_lister)
    calculer = actions.add_parser(
        "calculer", help="calcule l'effet de scénarios et le compare aux seules opérations programmées",
        description="Mêmes formules et mêmes modèles que le registre (chaleur et eau sur grille, ratio SDAGE, "
                    "trajectoire contre les objectifs).")
    calculer.add_argument("scenarios", nargs="+", metavar="N", help="numéro(s) de scénario (desimper scenario lister)")
    calculer.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    calculer.set_defaults(fonction=commande_scenario_calculer)
    exporter = actions.add_parser("exporter", help="exporte les sites d'un scénario et leur effet (GeoJSON ou CSV)")
    exporter.add_argument("scenario", metavar="N", help="numéro du scénario")
    exporter.add_argument("--sortie", required=True, metavar="FICHIER", help="fichier .geojson ou .csv à écrire")
    exporter.add_argument("--format", choices=["geojson", "csv"], help="format (défaut : d'après l'extension)")
    exporter.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    exporter.set_defaults(fonction=commande_scenario_exporter)


def commande_notifications_envoyer(args) -> int:
    """`desimper notifications envoyer` : résumés dus envoyés par courriel ; code 1 si certains sont reportés."""
    from donnees.format import neutraliser_controles
    from services.courriels import envoyer_resumes_territoire

    bilan = envoyer_resumes_territoire(_dossier_de(args))
    print(neutraliser_controles(bilan.resumer(), garder="\n"))
    return 1 if bilan.reportes else 0


def ajouter_commandes_notifications(sous) -> None:
    """Commande `desimper notifications envoyer`."""
    notifications = sous.add_parser("notifications", help="notifications : envoi des résumés par courriel")
    actions = notifications.add_subparsers(dest="action", required=True)
    envoyer = actions.add_parser(
        "envoyer", help="envoie par courriel les résumés dus (à lancer par cron, par ex. chaque matin)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Serveur SMTP lu dans l'environnement : DESIMPER_SMTP_HOTE, DESIMPER_SMTP_PORT, "
               "DESIMPER_SMTP_SECURITE (starttls, tls, aucune),\n"
               "DESIMPER_SMTP_UTILISATEUR, DESIMPER_SMTP_MOT_DE_PASSE, "
               "DESIMPER_SMTP_EXPEDITEUR, DESIMPER_URL_APPLICATION.\n"
               "Un refus du serveur reporte le résumé au passage suivant (rien n'est perdu ni envoyé deux fois).\n"
               "Exemple (crontab) : 0 7 * * * desimper notifications envoyer --dossier /srv/desimper/thau")
    envoyer.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    envoyer.set_defaults(fonction=commande_notifications_envoyer)


def commande_agenda_exporter(args) -> int:
    """`desimper agenda exporter --sortie agenda.ics` : flux iCalendar public du territoire (écriture atomique)."""
    from services.agenda import exporter_flux

    nombre = exporter_flux(Path(args.sortie), _dossier_de(args))
    print(f"Flux de l'agenda écrit : {args.sortie} ({nombre} événement(s)).")
    return 0


def ajouter_commandes_agenda(sous) -> None:
    """Commande `desimper agenda exporter`."""
    agenda = sous.add_parser("agenda", help="agenda de la communauté : flux iCalendar abonnable")
    actions = agenda.add_subparsers(dest="action", required=True)
    exporter = actions.add_parser(
        "exporter", help="écrit le flux iCalendar public (.ics) du territoire et des événements partagés",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Le fichier est remplacé d'un coup (jamais lu à moitié écrit) ; servez-le comme fichier statique\n"
               "(voir docs/deploiement.md, « Agenda abonnable »).\n"
               "Exemple (crontab) : */15 * * * * desimper agenda exporter --dossier /srv/desimper/thau "
               "--sortie /srv/desimper/public/agenda.ics")
    exporter.add_argument("--sortie", required=True, help="fichier .ics à écrire")
    exporter.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    exporter.set_defaults(fonction=commande_agenda_exporter)


def commande_rapport(args) -> int:
    """`desimper rapport --bassin|--commune INSEE|--financeur NOM --annee AAAA --sortie FICHIER.pdf`."""
    from donnees.comptes import Utilisateur
    from donnees.config import url_base
    from donnees.magasin import Magasin
    from services.rapports import OPERATEUR, DemandeRapport, lire_montants, nommer_fichier_rapport, produire_rapport

    dossier = _dossier_de(args)
    utilisateur = OPERATEUR
    if args.utilisateur:
        compte = Magasin(url_base(dossier)).lire_utilisateur(args.utilisateur)
        if compte is None or not compte["actif"]:
            print(f"Erreur : aucun compte actif « {args.utilisateur} ». Créez-le avec `desimper utilisateur creer`.",
                  file=sys.stderr)
            return 2
        utilisateur = Utilisateur.depuis_compte(compte)
    genre = "bassin" if args.bassin else "commune" if args.commune else "financeur"
    demande = DemandeRapport(genre, int(args.annee), None, args.commune, args.financeur, args.public)
    sortie = Path(args.sortie) if args.sortie else Path(nommer_fichier_rapport(demande, not lire_montants(
        utilisateur, demande)))
    if sortie.suffix.lower() != ".pdf":
        print(f"Erreur : le fichier de sortie doit finir par .pdf (reçu : {sortie}).", file=sys.stderr)
        return 2
    debut = time.perf_counter()
    pdf = produire_rapport(demande, utilisateur, dossier)
    temporaire = sortie.with_name(sortie.name + ".partiel")
    temporaire.write_bytes(pdf)
    temporaire.replace(sortie)  # jamais de PDF à moitié écrit
    print(f"Rapport écrit dans {sortie} ({formater_nombre(len(pdf) / 1024, 0, 'ko')}, "
          f"{formater_nombre(time.perf_counter() - debut, 1, 's')}).")
    return 0


def ajouter_commande_rapport(sous) -> None:
    """Commande `desimper rapport`."""
    rapport = sous.add_parser(
        "rapport", help="rapport PDF : annuel du bassin, d'une commune ou d'un financeur",
        description="Rapport PDF construit avec les mêmes chiffres que les pages (mêmes calculs, mêmes filtres : "
                    "opérations réalisées). Sans --utilisateur : version complète (coûts et aides) ; --public : "
                    "version publique (opérations validées, sans coût, aide ni donnée personnelle).",
        epilog="Exemples :\n  desimper rapport --bassin --annee 2026 --sortie rapport-2026.pdf\n"
               "  desimper rapport --commune 34301 --annee 2026 --public --sortie sete-2026.pdf\n"
               "  desimper rapport --financeur \"Région Occitanie\" --annee 2026 --sortie region-2026.pdf",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    genre = rapport.add_mutually_exclusive_group(required=True)
    genre.add_argument("--bassin", action="store_true", help="rapport annuel du bassin")
    genre.add_argument("--commune", metavar="INSEE", help="rapport d'une commune (code INSEE)")
    genre.add_argument("--financeur", metavar="NOM", help="rapport d'un financeur (nom tel qu'il figure aux aides)")
    rapport.add_argument("--annee", required=True, type=int, metavar="AAAA", help="année du rapport")
    rapport.add_argument("--sortie", metavar="FICHIER.pdf", help="fichier à écrire (défaut : nom d'après le rapport)")
    rapport.add_argument("--public", action="store_true", help="version publique (sans coût ni aide)")
    rapport.add_argument("--utilisateur", metavar="EMAIL", help="compte dont les droits s'appliquent")
    rapport.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    rapport.set_defaults(fonction=commande_rapport)



def commande_pairs(args) -> int:
    """`desimper pairs --operation N | --type-site CODE [--surface M2] [--utilisateur EMAIL]` : « Qui l'a fait avant
    moi ? » avec les droits du compte (public sans --utilisateur : communes et chiffres publics, aucun nom)."""
    from donnees.comptes import VISITEUR, Utilisateur
    from donnees.config import url_base
    from donnees.droits import MagasinProtege
    from donnees.format import neutraliser_controles
    from donnees.magasin import Magasin
    from indicateurs.pairs import ProjetReference
    from services.pairs import chercher_pairs

    magasin = Magasin(url_base(_dossier_de(args)))
    try:
        utilisateur = VISITEUR
        if args.utilisateur:
            compte = magasin.lire_utilisateur(args.utilisateur)
            if compte is None or not compte["actif"]:
                print(f"Erreur : aucun compte actif « {args.utilisateur} ».", file=sys.stderr)
                return 2
            utilisateur = Utilisateur.depuis_compte(compte)
        facade = MagasinProtege(magasin, utilisateur)
        projet = None if args.operation is not None else ProjetReference(args.type_site, args.surface, args.cout_m2)
        resultat = chercher_pairs(facade, projet=projet, operation_id=args.operation)
    finally:
        magasin.fermer()
    if resultat is None:
        print(f"Erreur : opération n° {args.operation} introuvable ou non lisible avec ces droits.", file=sys.stderr)
        return 2
    if resultat.pairs.empty:
        print("Aucune opération réalisée et validée semblable dans le registre.")
        return 0
    for pair in resultat.pairs.to_dict("records"):
        print(neutraliser_controles(f"{pair['rang']}. n° {pair['operation_id']} « {pair['nom']} » : "
                                    f"{pair['explication']}"))
        if resultat.referents is not None:
            for referent in resultat.referents[resultat.referents["code_insee"].eq(pair["code_insee"])].to_dict(
                    "records"):
                contacts = " · ".join(str(referent[c]) for c in ("fonction", "email", "telephone") if referent[c])
                print(neutraliser_controles(f"   référent : {referent['nom']}" + (f" ({contacts})" if contacts
                                                                                   else "")))
    return 0


def ajouter_commande_pairs(sous) -> None:
    """Commande `desimper pairs`."""
    pairs = sous.add_parser("pairs", help="« Qui l'a fait avant moi ? » : opérations semblables et leurs communes")
    choix = pairs.add_mutually_exclusive_group(required=True)
    choix.add_argument("--operation", type=int, metavar="N", help="opération de référence")
    choix.add_argument("--type-site", metavar="CODE", help="type de site du projet (ex. cour_ecole)")
    pairs.add_argument("--surface", type=float, metavar="M2", help="surface du projet (avec --type-site)")
    pairs.add_argument("--cout-m2", type=float, metavar="EUR", help="coût HT au m² du projet (avec --type-site)")
    pairs.add_argument("--utilisateur", metavar="EMAIL", help="compte dont les droits s'appliquent (défaut : public)")
    pairs.add_argument("--dossier", help="dossier de données (défaut : $DESIMPER_DONNEES ou donnees/local)")
    pairs.set_defaults(fonction=commande_pairs)

if __name__ == "__main__":
    sys.exit(main())

