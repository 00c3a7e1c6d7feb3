"""Pannes du système (issue 13, point 4) : disque plein, dossier en lecture seule, base injoignable, photo
impossible à écrire. Chacune donne un message français (façade, pages, CLI), sans trace Python, et n'écrit
rien à moitié (photos comprises) ; l'application se remet quand la panne cesse.

Les pannes sont de vraies erreurs du moteur, provoquées sans droits particuliers (les tests tournent parfois
en root, qui ignore ``chmod``) : ``PRAGMA max_page_count`` fige la taille de la base SQLite (SQLite répond
« database or disk is full »), ``PRAGMA query_only`` la rend non inscriptible (« attempt to write a readonly
database », comme un dossier en lecture seule), une base qui est un dossier ne s'ouvre pas (« unable to open
database file ») ; l'écriture d'une photo lève ``OSError(ENOSPC)``.
"""

from __future__ import annotations

import errno
import io
import os
import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy import event

from donnees.comptes import Utilisateur
from donnees.droits import MagasinProtege
from donnees.erreurs import PANNES, ErreurDonnees, ErreurPanne, traduire_panne
from donnees.magasin import Magasin
from services.saisie import PhotoDeposee, enregistrer_saisie
from test_magasin import operation_type

REFERENT = Utilisateur("ref@sete.fr", "Référente", "referent", frozenset({"34301"}))
DISQUE_PLEIN = "Disque plein : plus de place pour écrire"
LECTURE_SEULE = "est en lecture seule ou inaccessible"
BASE_INDISPONIBLE = "Base de données indisponible"


def image_png(teinte: int = 60) -> bytes:
    """Petite image PNG lisible (4 × 4 pixels)."""
    from PIL import Image

    tampon = io.BytesIO()
    Image.new("RGB", (4, 4), (40, 160, teinte)).save(tampon, format="PNG")
    return tampon.getvalue()


def figer_taille(magasin: Magasin) -> None:
    """Disque plein simulé : la base SQLite ne peut plus grandir d'une page (SQLite : SQLITE_FULL)."""
    with magasin.moteur.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
    magasin.moteur.dispose()
    event.listen(magasin.moteur, "connect", lambda c, _r: c.execute(f"PRAGMA max_page_count={pages}"))


def interdire_ecriture(magasin: Magasin) -> None:
    """Dossier en lecture seule simulé : toute écriture de la base est refusée (SQLite : SQLITE_READONLY)."""
    magasin.moteur.dispose()
    event.listen(magasin.moteur, "connect", lambda c, _r: c.execute("PRAGMA query_only=1"))


def operation_saisie(**modifications) -> dict:
    """Opération telle que l'envoie le formulaire (sans validation ni photos), description longue : son
    écriture demande de nouvelles pages dans la base."""
    operation = {k: v for k, v in operation_type(**modifications).items()
                 if k not in ("validation", "commentaire_validation", "photos")}
    return {**operation, "description": "Cour débitumée. " * 600}


@pytest.fixture
def magasin_sqlite(tmp_path):
    m = Magasin(f"sqlite:///{(tmp_path / 'donnees' / 'desimper.sqlite').as_posix()}")
    m.creer_tables()
    m.creer_utilisateur("ref@sete.fr", "Référente", "referent", ["34301"], None, auteur="test")
    yield m
    m.fermer()


def verifier_integrite(magasin: Magasin) -> None:
    with magasin.moteur.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"


# ----------------------------------------------------------------------------------- traduction


@pytest.mark.parametrize("exc, genre", [
    (sqlite3.OperationalError("database or disk is full"), "disque_plein"),
    (sqlite3.OperationalError("unable to open database file"), "lecture_seule"),
    (sqlite3.OperationalError("attempt to write a readonly database"), "lecture_seule"),
    (sqlite3.OperationalError("database is locked"), "base_occupee"),
    (sqlite3.OperationalError("disk I/O error"), "entree_sortie"),
    (OSError(errno.ENOSPC, "No space left on device"), "disque_plein"),
    (OSError(errno.EROFS, "Read-only file system"), "lecture_seule"),
    (PermissionError(errno.EACCES, "Permission denied"), "lecture_seule"),
    (OSError("IOError: No space left on device"), "disque_plein"),  # pyarrow : OSError sans errno
])
def test_pannes_traduites_en_francais(exc, genre):
    panne = traduire_panne(exc, "le dossier de données /d")
    assert isinstance(panne, ErreurPanne) and isinstance(panne, ErreurDonnees) and panne.genre == genre
    assert str(panne) == PANNES[genre].format(lieu="le dossier de données /d", suite="Rien n'a été enregistré. ")
    assert "Error" not in str(panne) and "sqlite" not in str(panne).lower()


@pytest.mark.parametrize("exc", [ValueError("x"), sqlite3.IntegrityError("UNIQUE constraint failed"),
                                 OSError(errno.ENOENT, "No such file"), KeyError("a")])
def test_erreurs_qui_ne_sont_pas_des_pannes_restent_telles_quelles(exc):
    assert traduire_panne(exc) is None


# ----------------------------------------------------------------------------------- magasin


def test_disque_plein_operation_refusee_en_francais_et_base_intacte(magasin_sqlite):
    facade = MagasinProtege(magasin_sqlite, REFERENT, noms_communes={"34301": "Sète"})
    avant = magasin_sqlite.compter()
    figer_taille(magasin_sqlite)
    with pytest.raises(ErreurPanne, match=DISQUE_PLEIN) as erreur:
        facade.soumettre_operation({**operation_saisie(), "validation": "a_valider"}, str(uuid.uuid4()))
    assert erreur.value.genre == "disque_plein" and "Rien n'a été enregistré" in str(erreur.value)
    assert magasin_sqlite.compter() == avant
    verifier_integrite(magasin_sqlite)


def test_lecture_seule_ecriture_refusee_lecture_possible(magasin_sqlite):
    avant = magasin_sqlite.compter()
    interdire_ecriture(magasin_sqlite)
    with pytest.raises(ErreurPanne, match=LECTURE_SEULE) as erreur:
        magasin_sqlite.creer_operation(operation_type(photos=[]), "ref@sete.fr")
    assert str(Path(magasin_sqlite.moteur.url.database).parent) in str(erreur.value)
    assert magasin_sqlite.compter() == avant  # les lectures marchent toujours


def test_base_qui_ne_s_ouvre_pas_message_francais(tmp_path):
    (tmp_path / "desimper.sqlite").mkdir()  # ni fichier ni droit de le créer : « unable to open database file »
    with pytest.raises(ErreurPanne, match=LECTURE_SEULE):
        Magasin(f"sqlite:///{(tmp_path / 'desimper.sqlite').as_posix()}").creer_tables()


# ------------------------------------------------------------------------- saisie : tout ou rien


def fichiers_photos(dossier: Path) -> list[str]:
    racine = dossier / "photos"
    return sorted(p.name for p in racine.iterdir()) if racine.exists() else []


def test_base_pleine_les_photos_de_la_saisie_sont_retirees(magasin_sqlite, tmp_path):
    facade = MagasinProtege(magasin_sqlite, REFERENT, noms_communes={"34301": "Sète"})
    dossier = tmp_path / "donnees"
    avant = magasin_sqlite.compter()
    figer_taille(magasin_sqlite)
    photos = [PhotoDeposee(image_png(10), "avant.png", "avant"), PhotoDeposee(image_png(20), "apres.png", "apres")]
    with pytest.raises(ErreurPanne, match=DISQUE_PLEIN):
        enregistrer_saisie(facade, operation_saisie(), photos, [], dossier, jeton_soumission=str(uuid.uuid4()))
    assert fichiers_photos(dossier) == []  # ni photo ni fichier temporaire
    assert magasin_sqlite.compter() == avant


def test_photo_impossible_a_ecrire_rien_en_base(magasin_sqlite, tmp_path, monkeypatch):
    """La seconde photo ne peut être écrite (disque plein) : la première est retirée, la base n'est pas touchée."""
    facade = MagasinProtege(magasin_sqlite, REFERENT, noms_communes={"34301": "Sète"})
    dossier = tmp_path / "donnees"
    avant = magasin_sqlite.compter()
    ecrire = Path.write_bytes
    ecrites = []

    def ecrire_puis_plein(self, octets):
        if ecrites:
            ecrire(self, octets[: len(octets) // 2])  # début écrit, puis le disque est plein
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        ecrites.append(self)
        return ecrire(self, octets)

    monkeypatch.setattr(Path, "write_bytes", ecrire_puis_plein)
    photos = [PhotoDeposee(image_png(10), "avant.png", "avant"), PhotoDeposee(image_png(20), "apres.png", "apres")]
    with pytest.raises(ErreurPanne, match=DISQUE_PLEIN) as erreur:
        enregistrer_saisie(facade, operation_saisie(), photos, [], dossier, jeton_soumission=str(uuid.uuid4()))
    assert f"le dossier des photos {dossier / 'photos'}" in str(erreur.value)
    assert len(ecrites) == 1 and fichiers_photos(dossier) == []
    assert magasin_sqlite.compter() == avant


# ----------------------------------------------------------------------------------- CLI


def brancher_panne_sqlite(monkeypatch, pragma: str) -> None:
    """Chaque nouvelle connexion SQLite reçoit ``pragma`` (``{pages}`` : taille actuelle de la base)."""
    from donnees.magasin import tables

    configurer = tables._configurer_sqlite

    def configurer_en_panne(connexion, enregistrement):
        configurer(connexion, enregistrement)
        pages = connexion.execute("PRAGMA page_count").fetchone()[0]
        connexion.execute(pragma.format(pages=pages))

    monkeypatch.setattr(tables, "_configurer_sqlite", configurer_en_panne)


def fichier_operations(dossier: Path, chemin: Path) -> Path:
    """GeoJSON d'une opération valide à Sète (zone de 30 × 20 m au cœur de la commune)."""
    import geopandas as gpd
    from shapely.geometry import box

    communes = gpd.read_parquet(dossier / "communes.parquet")
    centre = communes.to_crs(2154).set_index("code_insee").loc["34301", "geometry"].representative_point()
    zone = gpd.GeoSeries([box(centre.x, centre.y, centre.x + 30, centre.y + 20)], crs=2154).to_crs(4326).iloc[0]
    lignes = {"code_insee": ["34301"], "nom": ["Cour de l'école des Pannes"], "type_site": ["cour_ecole"],
              "statut": ["realisee"], "date_fin_travaux": ["15/09/2024"], "revetement_avant": ["enrobe"],
              "revetement_apres": ["pelouse"], "cout_ht_eur": [60000], "description": ["Noue. " * 2000]}
    gpd.GeoDataFrame(lignes, geometry=[zone], crs=4326).to_file(chemin)
    return chemin


@pytest.mark.parametrize("pragma, attendu", [("PRAGMA max_page_count={pages}", DISQUE_PLEIN),
                                             ("PRAGMA query_only=1", LECTURE_SEULE)])
def test_cli_import_en_panne_message_francais_sans_trace(dossier_demo_copie, tmp_path, capsys, monkeypatch,
                                                         pragma, attendu):
    import cli
    from donnees.comptes import creer_compte
    from donnees.config import url_base

    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    magasin = Magasin(url_base(dossier_demo_copie))
    creer_compte(magasin, "referent@sete.fr", "Référent Sète", "referent", ["34301"], "une phrase de passe solide",
                 auteur="test")
    avant = magasin.compter()
    magasin.fermer()
    chemin = fichier_operations(dossier_demo_copie, tmp_path / "operations.geojson")
    brancher_panne_sqlite(monkeypatch, pragma)
    code = cli.main(["operations", "importer", str(chemin), "--utilisateur", "referent@sete.fr",
                     "--dossier", str(dossier_demo_copie)])
    sortie = capsys.readouterr()
    texte = sortie.out + sortie.err
    print(texte)
    assert code == 1, texte  # import refusé : le rapport de l'import dit pourquoi
    assert attendu in texte and "Rien n'a été enregistré" in texte
    assert "Traceback" not in texte and "sqlite3" not in texte and "Error" not in texte
    monkeypatch.undo()
    magasin = Magasin(url_base(dossier_demo_copie))
    assert magasin.compter() == avant
    verifier_integrite(magasin)
    magasin.fermer()


def test_cli_creation_de_compte_dossier_inaccessible(dossier_demo_copie, capsys, monkeypatch):
    import cli

    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    dossier = dossier_demo_copie
    (dossier / "desimper.sqlite").unlink()
    (dossier / "desimper.sqlite").mkdir()  # la base ne peut être ouverte : « unable to open database file »
    code = cli.main(["utilisateur", "creer", "--email", "a@b.fr", "--nom", "A", "--role", "administrateur",
                     "--mot-de-passe", "une phrase de passe solide", "--dossier", str(dossier)])
    sortie = capsys.readouterr()
    assert code == 2 and LECTURE_SEULE in sortie.err and str(dossier) in sortie.err
    assert "Traceback" not in sortie.err + sortie.out


# ----------------------------------------------------------------------------------- pages


def test_page_base_inaccessible_message_francais(dossier_demo_copie, monkeypatch):
    from outils import lancer_appli

    (dossier_demo_copie / "desimper.sqlite").unlink()
    (dossier_demo_copie / "desimper.sqlite").mkdir()
    appli = lancer_appli(monkeypatch, dossier_demo_copie)
    assert not appli.exception
    erreurs = [e.value for e in appli.error]
    assert any(LECTURE_SEULE in e and "Service momentanément indisponible" in e for e in erreurs), erreurs


# ------------------------------------------------------------ reprise : PostgreSQL redémarré sous l'appli


@pytest.mark.postgresql
def test_postgresql_redemarre_sous_l_application(grappe_postgresql_redemarrable, dossier_demo_copie, monkeypatch):
    """Une session de l'application ouverte ; le serveur PostgreSQL s'arrête : la page dit en français que la base
    est indisponible (pas de trace) ; il redémarre : la même session relit et écrit (valider une opération)."""
    import runpy

    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.testing.v1 import AppTest

    from donnees.comptes import creer_compte
    from outils import APP, connecter_appli

    grappe = grappe_postgresql_redemarrable
    monkeypatch.setenv("DESIMPER_DONNEES", str(dossier_demo_copie))
    monkeypatch.setenv("DESIMPER_BASE_URL", grappe.url)
    magasin = Magasin(grappe.url)
    magasin.creer_tables()
    admin = creer_compte(magasin, "admin@thau.fr", "Admin Thau", "administrateur", "", "une phrase de passe solide",
                         auteur="test")
    ident = magasin.creer_operation(operation_type(photos=[], validation="a_valider"), "ref@sete.fr")
    # Comme `desimper serveur` (cli.commande_serveur) : chaque exécution passe par app.py. AppTest, voyant le
    # dossier pages/, rejouerait sinon la page choisie sans app.py (ancien mode multipage de Streamlit).
    monkeypatch.setattr(script_runner, "_mpa_v1", lambda principal: runpy.run_path(principal, run_name="__main__"))
    appli = AppTest.from_file(APP, default_timeout=120)
    connecter_appli(appli, admin)
    appli.run()  # app.py (cadre, navigation) puis la page d'accueil
    assert not appli.exception and not appli.error
    appli.switch_page("pages/a_valider.py").run()
    assert not appli.exception and not appli.error
    assert any(f"n° {ident}" in s.value for s in appli.subheader)

    grappe.couper()  # l'utilisateur, sur la page, clique « Valider » pendant l'arrêt
    appli.button(key=f"valider_{ident}").click().run()
    assert not appli.exception
    erreurs = [e.value for e in appli.error]
    assert any(BASE_INDISPONIBLE in e and "Réessayez" in e for e in erreurs), erreurs
    assert appli.button(key="reessayer_apres_panne")

    grappe.relancer()
    appli.button(key="reessayer_apres_panne").click().run()
    assert not appli.exception and not appli.error
    assert any("Admin Thau" in c.value for c in appli.sidebar.caption)  # même session, relue dans la base
    assert magasin.lire_operation(ident)["validation"] == "a_valider"  # rien d'écrit pendant l'arrêt
    assert any(f"n° {ident}" in s.value for s in appli.subheader)  # même page, lecture rétablie
    appli.button(key=f"valider_{ident}").click().run()
    assert not appli.exception and not appli.error
    assert magasin.lire_operation(ident)["validation"] == "validee"  # écriture rétablie
    magasin.fermer()


# ------------------------------------------------------------ desimper demo : construite à côté, échangée


def empreintes_dossier(dossier: Path) -> dict[str, str]:
    """Empreinte SHA-256 de chaque fichier du dossier (base SQLite exclue : elle change à la lecture)."""
    import hashlib

    return {p.relative_to(dossier).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(dossier.rglob("*")) if p.is_file() and "sqlite" not in p.name}


def etat_registre(dossier: Path) -> tuple:
    from donnees.config import url_base

    magasin = Magasin(url_base(dossier))
    try:
        verifier_integrite(magasin)
        return magasin.compter(), sorted(magasin.lire_operations()["id"]), magasin.lire_utilisateur("garde@thau.fr")
    finally:
        magasin.fermer()


def preparer_ancienne_demo(dossier: Path) -> tuple:
    """Démonstration existante avec un compte créé à la main ; renvoie son état (registre, fichiers)."""
    from donnees.comptes import creer_compte
    from donnees.config import url_base

    magasin = Magasin(url_base(dossier))
    creer_compte(magasin, "garde@thau.fr", "Compte à garder", "administrateur", "", "une phrase de passe solide",
                 auteur="test")
    magasin.fermer()
    return etat_registre(dossier), empreintes_dossier(dossier)


def restes_de_chantier(dossier: Path) -> list[str]:
    return sorted(p.name for p in dossier.parent.iterdir() if p.name.startswith(f".{dossier.name}."))


@pytest.mark.parametrize("panne", ["couche", "base"])
def test_demo_sur_disque_plein_l_ancienne_reste_intacte(dossier_demo_copie, capsys, monkeypatch, panne):
    import cli
    from donnees.demo import orchestration

    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    registre, fichiers = preparer_ancienne_demo(dossier_demo_copie)
    assert registre[0]["operation"] > 0 and registre[2] is not None
    if panne == "couche":  # le disque se remplit en écrivant l'occupation du sol (pyarrow : OSError)
        ecrire = orchestration.ecrire_couche

        def ecrire_puis_plein(nom, table, dossier):
            if nom == "occupation":
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return ecrire(nom, table, dossier)

        monkeypatch.setattr(orchestration, "ecrire_couche", ecrire_puis_plein)
    else:  # la nouvelle base ne peut grandir : SQLite répond « database or disk is full »
        brancher_panne_sqlite(monkeypatch, "PRAGMA max_page_count={pages}")
    code = cli.main(["demo", "--taille", "petite", "--graine", "3", "--sans-modeles", "--dossier",
                     str(dossier_demo_copie)])
    sortie = capsys.readouterr()
    assert code == 2, sortie
    assert DISQUE_PLEIN in sortie.err and "Traceback" not in sortie.err + sortie.out
    monkeypatch.undo()
    assert etat_registre(dossier_demo_copie) == registre  # opérations et compte intacts
    assert empreintes_dossier(dossier_demo_copie) == fichiers  # couches, territoire, photos inchangés
    assert restes_de_chantier(dossier_demo_copie) == []


def test_demo_regeneree_echangee_d_un_coup(dossier_demo_copie, monkeypatch):
    from donnees.demo import generer_demo
    from donnees.referentiel import lire_territoire

    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    (dossier_demo_copie / "batiments.parquet").write_bytes(b"import reel")  # obsolète dans une démo
    resume = generer_demo(dossier_demo_copie, taille="petite", graine=3)
    assert lire_territoire(dossier_demo_copie)["graine"] == 3
    assert not (dossier_demo_copie / "batiments.parquet").exists()
    assert restes_de_chantier(dossier_demo_copie) == []
    compte = etat_registre(dossier_demo_copie)
    assert compte[0]["operation"] == resume["operations"] and compte[2] is None  # nouvelle base
    photos = list((dossier_demo_copie / "photos").iterdir())
    assert len(photos) == resume["photos"] and not [p for p in photos if p.name.startswith(".")]


# ------------------------------------------------- import d'une couche de référence tué (kill -9) en route

ENFANT_PUBLICATION = r"""
import os, signal, sys
from pathlib import Path

import geopandas as gpd

from donnees import publication_couches as pc
from donnees.sources import construire_fiche

dossier, moment = Path(sys.argv[1]), sys.argv[2]
tuer = lambda: os.kill(os.getpid(), signal.SIGKILL)  # kill -9 : ni finally ni nettoyage
vrai_renommage, vraie_ecriture, vrai_retrait = os.replace, gpd.GeoDataFrame.to_parquet, Path.unlink
ecritures = []

def renommer(source, cible):
    nom = Path(cible).name
    if (moment, nom) in {("decision", pc.MANIFESTE), ("communes", "communes.parquet"),
                         ("affichage", "communes_affichage.parquet"), ("sources", "sources.json")}:
        tuer()
    vrai_renommage(source, cible)

def ecrire(table, chemin, **options):
    ecritures.append(chemin)
    vraie_ecriture(table, chemin, **options)
    if moment == "ecriture" and len(ecritures) == 2:
        with open(chemin, "r+b") as f:
            f.truncate(100)  # fichier à moitié écrit
        tuer()

def retirer(chemin, missing_ok=False):
    if moment == "fin" and chemin.name == pc.MANIFESTE:
        tuer()
    vrai_retrait(chemin, missing_ok=missing_ok)

os.replace, gpd.GeoDataFrame.to_parquet, Path.unlink = renommer, ecrire, retirer
communes = gpd.read_parquet(dossier / "communes.parquet")
communes["population"] += 1
affichage = gpd.read_parquet(dossier / "communes_affichage.parquet")
tables = {"communes": communes, "communes_affichage": affichage}
fiches = {nom: construire_fiche(nom, source="Fichier de test", producteur="Test", attribution="Test",
                                origine="fichier", nombre=len(t), par_commune={}) for nom, t in tables.items()}
pc.publier_couches(dossier, tables, fiches)
"""


def constats_publication(dossier: Path) -> list[str]:
    from donnees.verification import verifier_donnees

    sujets = ("import interrompu", "fichiers temporaires")
    return [f"{c.sujet} : {c.message}" for c in verifier_donnees(dossier)
            if c.sujet in sujets or "ne correspond pas à sa fiche" in c.message]


@pytest.mark.parametrize("moment, decidee", [("ecriture", False), ("decision", False), ("communes", True),
                                             ("affichage", True), ("sources", True), ("fin", True)])
def test_import_de_couche_tue_puis_repris(dossier_demo_copie, monkeypatch, moment, decidee):
    """Un vrai processus tué par SIGKILL à chaque étape de la publication : `verifier` signale ce qu'il laisse ;
    la reprise (début du prochain import) rend couches et sources.json cohérents, sans fichier temporaire."""
    import subprocess
    import sys

    import geopandas as gpd

    from donnees.publication_couches import empreinte_fichier, lister_temporaires, reprendre_publication
    from donnees.sources import lire_sources
    from outils import RACINE

    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    dossier = dossier_demo_copie
    avant = {n: empreinte_fichier(dossier / n) for n in ("communes.parquet", "communes_affichage.parquet",
                                                          "sources.json")}
    populations = gpd.read_parquet(dossier / "communes.parquet")["population"]
    environnement = dict(os.environ, PYTHONPATH=str(RACINE))
    fin = subprocess.run([sys.executable, "-c", ENFANT_PUBLICATION, str(dossier), moment], cwd=RACINE,
                         env=environnement, capture_output=True, text=True, timeout=300)
    assert fin.returncode == -9, fin.stderr[-2000:]
    constats = constats_publication(dossier)
    if decidee:
        assert any(c.startswith("import interrompu") for c in constats), constats
    else:
        assert lister_temporaires(dossier) and any(c.startswith("fichiers temporaires") for c in constats)
        assert {n: empreinte_fichier(dossier / n) for n in avant} == avant  # rien de publié

    reprendre_publication(dossier)
    assert lister_temporaires(dossier) == [] and constats_publication(dossier) == []
    sources = lire_sources(dossier)
    if decidee:
        for nom in ("communes", "communes_affichage"):
            assert sources[nom]["empreinte"] == empreinte_fichier(dossier / f"{nom}.parquet")
            assert sources[nom]["source"] == "Fichier de test"
        assert (gpd.read_parquet(dossier / "communes.parquet")["population"] == populations + 1).all()
    else:
        assert {n: empreinte_fichier(dossier / n) for n in avant} == avant


def test_verifier_signale_couche_ne_correspondant_pas_a_sa_fiche(dossier_demo_copie, monkeypatch):
    import shutil

    import geopandas as gpd

    from donnees.publication_couches import publier_couches
    from donnees.sources import construire_fiche

    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    dossier = dossier_demo_copie
    shutil.copy(dossier / "communes.parquet", dossier.parent / "ancienne.parquet")
    communes = gpd.read_parquet(dossier / "communes.parquet")
    communes["population"] += 1
    publier_couches(dossier, {"communes": communes}, {"communes": construire_fiche(
        "communes", source="Fichier de test", producteur="Test", attribution="Test", origine="fichier",
        nombre=len(communes), par_commune={})})
    assert constats_publication(dossier) == []
    shutil.copy(dossier.parent / "ancienne.parquet", dossier / "communes.parquet")  # remplacée à la main
    (dossier / ".parcelles-k3j9x_2a.parquet").write_bytes(b"PAR1")  # reste d'une écriture tuée
    constats = constats_publication(dossier)
    assert any("ne correspond pas à sa fiche de sources.json" in c for c in constats), constats
    assert any(".parcelles-k3j9x_2a.parquet" in c for c in constats), constats


def test_panne_en_cours_de_page_message_francais(dossier_demo_copie, monkeypatch):
    """Le magasin répond à la vérification d'app.py puis tombe en panne pendant la page (erreur d'entrée-sortie
    en lisant les agrégats du registre, première lecture de la Vue d'ensemble) : message français sous le cadre,
    pas de trace."""
    import runpy

    from streamlit.runtime.scriptrunner import script_runner

    from donnees.magasin.agregats import AgregatsMagasin
    from outils import lancer_appli

    def lire_en_panne(self, *arguments, **options):
        with self._lire():
            raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(script_runner, "_mpa_v1", lambda principal: runpy.run_path(principal, run_name="__main__"))
    monkeypatch.setattr(AgregatsMagasin, "agreger_registre", lire_en_panne)
    appli = lancer_appli(monkeypatch, dossier_demo_copie)
    assert not appli.exception
    erreurs = [e.value for e in appli.error]
    assert any("Erreur du disque en lisant ou en écrivant dans le dossier de données" in e for e in erreurs), erreurs
    assert any("Bassin de Thau" in m.value for m in appli.sidebar.markdown)  # le cadre est là
