"""Sauvegarde et restauration (`desimper sauvegarder`, `desimper restaurer`, :mod:`donnees.sauvegarde`).

Une restauration dans un dossier vide rend un registre identique (comptes par table, journal, photos octet pour
octet) sur SQLite et sur PostGIS ; une archive altérée est refusée ; un territoire vivant n'est remplacé qu'avec
``remplacer`` et une restauration qui échoue le laisse en place ; une sauvegarde prise pendant que l'application
écrit est cohérente.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import sqlite3
import tarfile
import threading
from pathlib import Path

import pytest

import cli
from donnees import sauvegarde, sauvegarde_base
from donnees.comptes import creer_compte
from donnees.erreurs import ErreurDonnees
from donnees.magasin import Magasin, metadonnees
from donnees.sessions import lire_session, ouvrir_session
from donnees.verification import verifier_donnees
from test_magasin import operation_type

MOT_DE_PASSE = "une phrase de passe solide pour les tests"


# ------------------------------------------------------------------------------------------- outils


def empreintes_dossier(dossier: Path) -> dict[str, str]:
    """Empreinte SHA-256 de chaque fichier sauvegardé du dossier (chemin relatif → empreinte)."""
    return {p.as_posix(): hashlib.sha256((dossier / p).read_bytes()).hexdigest()
            for p in sauvegarde.lister_fichiers(dossier)}


def etat_registre(url: str) -> dict:
    """Comptes par table (sessions, estimations par site et scénarios compris), journal complet et photos du
    magasin."""
    magasin = Magasin(url)
    try:
        registre = magasin.compter()
        with magasin.moteur.connect() as conn:  # tables hors du registre : sessions, estimations, scénarios…
            autres = {nom: conn.exec_driver_sql(f"SELECT count(*) FROM {nom}").scalar_one()
                      for nom in metadonnees.tables if nom not in registre}
        journal = magasin.lire_journal().sort_values("id").reset_index(drop=True)
        photos = magasin.lire_photos(inclure_supprimees=True)
        return {"comptes": {**registre, **autres},
                "journal": journal.astype(str).to_dict("records"),
                "photos": photos[["photo_id", "operation_id", "moment", "chemin", "legende"]].astype(str)
                .to_dict("records"),
                "version": magasin.version_schema()}
    finally:
        magasin.fermer()


def preparer_comptes(url: str) -> str:
    """Un compte, une session ouverte, un scénario (un site, un avis) et une question sous une opération de Sète
    (notification du référent) ; renvoie le jeton."""
    from shapely.geometry import box

    magasin = Magasin(url)
    try:
        magasin.creer_tables()
        utilisateur = creer_compte(magasin, "admin@exemple.fr", "Admin", "administrateur", None, MOT_DE_PASSE,
                                   auteur="test")
        scenario = magasin.creer_scenario("Cours d'école 2030", None, "admin@exemple.fr")
        site, = magasin.ajouter_sites(scenario, [{"code_insee": "34301", "geometrie": box(3.69, 43.40, 3.6905, 43.4004),
                                                  "revetement_avant": "enrobe", "revetement_apres": "pelouse",
                                                  "type_site": "cour_ecole", "annee": 2030}], "admin@exemple.fr")
        magasin.donner_avis(site, "faisable", "Budget 2029", "admin@exemple.fr")
        # un fil d'échanges (message, abonnement de l'auteur) et une notification (issue 16)
        magasin.creer_utilisateur("ref@exemple.fr", "Réf", "referent", ["34301"], None, auteur="test")
        operation = magasin.lire_operations()
        operation = int(operation.loc[operation["code_insee"].eq("34301"), "id"].iloc[0])
        magasin.publier_message(operation, "question", "Quel paillage ?", "admin@exemple.fr", "Admin")
        # un événement de l'agenda lié à l'opération, une inscription (issue 16, partie 3)
        from datetime import datetime
        evenement = magasin.creer_evenement({"genre": "visite_site", "titre": "Visite", "lieu": "Sète",
                                             "debut": datetime(2031, 5, 6, 8), "fin": datetime(2031, 5, 6, 10)},
                                            "admin@exemple.fr", {"operation": [operation]})
        magasin.inscrire_evenement(evenement, "ref@exemple.fr", "Réf")
        # une fiche d'annuaire consentie (issue 16, partie 4)
        magasin.ecrire_fiche_annuaire("ref@exemple.fr", True, {"fonction": "Technicienne"}, "ref@exemple.fr")
        return ouvrir_session(magasin, utilisateur)
    finally:
        magasin.fermer()


def session_valide(url: str, jeton: str) -> bool:
    magasin = Magasin(url)
    try:
        return lire_session(magasin, jeton).utilisateur is not None
    finally:
        magasin.fermer()


def url_sqlite(dossier: Path) -> str:
    return f"sqlite:///{(dossier / 'desimper.sqlite').as_posix()}"


@pytest.fixture
def territoire(dossier_demo_copie, monkeypatch):
    """Copie de la démonstration (SQLite) avec un compte et une session ouverte : (dossier, jeton)."""
    monkeypatch.delenv("DESIMPER_BASE_URL", raising=False)
    jeton = preparer_comptes(url_sqlite(dossier_demo_copie))
    return dossier_demo_copie, jeton


def reecrire_archive(source: Path, cible: Path, modifier) -> None:
    """Copie une archive membre par membre ; ``modifier(nom, octets)`` rend les nouveaux octets (ou None pour
    retirer le membre)."""
    with tarfile.open(source) as entree, tarfile.open(cible, "w") as sortie:
        for membre in entree.getmembers():
            octets = modifier(membre.name, entree.extractfile(membre).read())
            if octets is not None:
                membre.size = len(octets)
                sortie.addfile(membre, io.BytesIO(octets))


# ------------------------------------------------------------------------------- aller-retour SQLite


def ajouter_ressource_fichier(dossier: Path) -> int:
    """Une ressource avec son fichier rangé sous ``ressources/`` du dossier (issue 16, partie 1)."""
    magasin = Magasin(url_sqlite(dossier))
    try:
        return magasin.creer_ressource({"genre": "guide", "titre": "Guide", "themes": ["parkings"]},
                                       "admin@exemple.fr", "Admin", (b"%PDF-1.7\n%%EOF\n", "guide.pdf"), dossier)
    finally:
        magasin.fermer()


def test_restauration_sqlite_dans_un_dossier_vide_rend_un_registre_identique(territoire, tmp_path):
    dossier, jeton = territoire
    ressource = ajouter_ressource_fichier(dossier)
    avant = etat_registre(url_sqlite(dossier))
    fichiers_avant = empreintes_dossier(dossier)
    archive = tmp_path / "sauvegarde.tar"
    manifeste = sauvegarde.sauvegarder(dossier, archive)

    assert manifeste["base"]["moteur"] == "sqlite"
    assert manifeste["base"]["revision_schema"] == avant["version"]
    assert manifeste["base"]["comptes"] == avant["comptes"]
    assert avant["comptes"]["message_fil"] == 1 and avant["comptes"]["notification"] >= 1  # échanges sauvegardés
    assert min(avant["comptes"][t] for t in ("evenement", "evenement_operation", "inscription_evenement")) >= 1
    assert avant["comptes"]["fiche_annuaire"] == 1  # annuaire sauvegardé
    noms = {ligne["chemin"] for ligne in manifeste["fichiers"]}
    assert {"base/desimper.sqlite", "donnees/territoire.json"} <= noms
    assert all(len(ligne["sha256"]) == 64 for ligne in manifeste["fichiers"])

    cible = tmp_path / "restaure"
    resultat = sauvegarde.restaurer(archive, cible)
    assert resultat["ancien"] is None
    apres = etat_registre(url_sqlite(cible))
    assert apres["comptes"] == avant["comptes"]
    assert apres["journal"] == avant["journal"]
    assert apres["photos"] == avant["photos"] and len(avant["photos"]) > 0
    restaure = Magasin(url_sqlite(cible))
    try:  # la fiche d'annuaire revient avec son consentement
        assert restaure.lire_fiches_annuaire()[["nom", "fonction"]].values.tolist() == [["Réf", "Technicienne"]]
    finally:
        restaure.fermer()
    assert empreintes_dossier(cible) == fichiers_avant  # photos et couches octet pour octet
    assert any(nom.startswith("photos/") for nom in fichiers_avant)
    # Ressources : tables et fichiers (sous ressources/) restaurés, fichier relu et vérifié par son empreinte.
    assert avant["comptes"]["ressource"] >= 2 and avant["comptes"]["ressource_operation"] >= 1
    assert any(nom.startswith("ressources/") for nom in fichiers_avant)
    restaure = Magasin(url_sqlite(cible))
    try:
        assert restaure.lire_fichier_ressource(ressource, cible) == b"%PDF-1.7\n%%EOF\n"
    finally:
        restaure.fermer()
    assert not [c for c in verifier_donnees(cible, url_sqlite(cible)) if c.niveau == "erreur"]
    # Les sessions de la sauvegarde sont révoquées ; celle du territoire d'origine reste ouverte.
    assert not session_valide(url_sqlite(cible), jeton)
    assert session_valide(url_sqlite(dossier), jeton)
    assert sorted(p.name for p in cible.iterdir() if p.name.startswith(".")) == []


def test_sauvegarde_gzip_et_exclusions(territoire, tmp_path):
    dossier, _ = territoire
    (dossier / "cache").mkdir(exist_ok=True)
    (dossier / "cache" / "chaleur_x.npz").write_bytes(b"cache")
    (dossier / "archives" / "vieux").mkdir(parents=True)
    (dossier / "archives" / "vieux" / "territoire.json").write_text("{}")
    (dossier / "photos" / ".provisoire.tmp").write_bytes(b"tmp")
    (dossier / "lien.json").symlink_to(dossier / "territoire.json")
    archive = tmp_path / "sauvegarde.tar.gz"
    manifeste = sauvegarde.sauvegarder(dossier, archive)
    with tarfile.open(archive, "r:gz") as tar:
        noms = set(tar.getnames())
    assert not [n for n in noms if "cache/" in n or "archives/" in n or ".tmp" in n or "lien.json" in n]
    assert not [n for n in noms if n.startswith("donnees/desimper.sqlite")]
    assert noms == {ligne["chemin"] for ligne in manifeste["fichiers"]} | {"manifeste.json", "manifeste.sha256"}
    assert sauvegarde.verifier_archive(archive)["cree_le"] == manifeste["cree_le"]


# ------------------------------------------------------------------------------- archives altérées


@pytest.fixture
def archive_saine(territoire, tmp_path):
    archive = tmp_path / "saine.tar"
    sauvegarde.sauvegarder(territoire[0], archive)
    return archive


def _photo_quelconque(nom: str) -> bool:
    return nom.startswith("donnees/photos/")


@pytest.mark.parametrize("alteration, attendu", [
    ("photo", "a été modifié (empreinte SHA-256"),
    ("base", "a été modifié (empreinte SHA-256"),
    ("manifeste", "le manifeste a été modifié"),
    ("membre_en_plus", "fichier hors du manifeste"),
    ("membre_retire", "absent"),
    ("tronquee", "tronqué ou abîmé"),
    ("pas_une_archive", "tronqué ou abîmé"),
])
def test_archive_alteree_refusee_sans_rien_ecrire(archive_saine, tmp_path, alteration, attendu):
    alteree = tmp_path / "alteree.tar"
    if alteration == "tronquee":
        alteree.write_bytes(archive_saine.read_bytes()[: archive_saine.stat().st_size // 2])
    elif alteration == "pas_une_archive":
        alteree.write_bytes(b"ceci n'est pas une archive" * 100)
    else:
        def modifier(nom, octets):
            if alteration == "photo" and _photo_quelconque(nom) or alteration == "base" and nom.startswith("base/"):
                return octets[:-1] + bytes([octets[-1] ^ 1])
            if alteration == "manifeste" and nom == "manifeste.json":
                manifeste = json.loads(octets)
                manifeste["base"]["comptes"]["operation"] += 1
                return json.dumps(manifeste).encode()
            if alteration == "membre_retire" and _photo_quelconque(nom):
                return None
            return octets
        reecrire_archive(archive_saine, alteree, modifier)
        if alteration == "membre_en_plus":
            with tarfile.open(alteree, "a") as tar:
                infos = tarfile.TarInfo("donnees/intrus.json")
                infos.size = 2
                tar.addfile(infos, io.BytesIO(b"{}"))
    cible = tmp_path / "cible"
    with pytest.raises(ErreurDonnees) as erreur:
        sauvegarde.restaurer(alteree, cible)
    assert attendu in str(erreur.value) and "Rien n'a été restauré" in str(erreur.value)
    assert not cible.exists()


def recalculer_manifeste(source: Path, cible: Path, changer, ajouts: dict[str, bytes] | None = None) -> None:
    """Copie l'archive avec un manifeste changé par ``changer(manifeste)`` et son empreinte recalculée (un
    faussaire soigneux), plus les membres ``ajouts``."""
    with tarfile.open(source) as tar:
        manifeste = json.loads(tar.extractfile("manifeste.json").read())
    changer(manifeste)
    texte = json.dumps(manifeste).encode()
    remplacements = {"manifeste.json": texte,
                     "manifeste.sha256": f"{hashlib.sha256(texte).hexdigest()}  manifeste.json\n".encode()}
    reecrire_archive(source, cible, lambda nom, octets: remplacements.get(nom, octets))
    with tarfile.open(cible, "a") as tar:
        for nom, octets in (ajouts or {}).items():
            infos = tarfile.TarInfo(nom)
            infos.size = len(octets)
            tar.addfile(infos, io.BytesIO(octets))


@pytest.mark.parametrize("chemin, attendu", [
    ("../evasion.txt", "manifeste illisible"), ("donnees/../../evasion.txt", "manifeste illisible"),
    ("/tmp/absolu.txt", "manifeste illisible"), ("donnees/photos/a\x00.jpg", "manifeste illisible"),
    ("donnees/desimper.sqlite", "fichier interdit"), ("donnees/cache/x.npz", "fichier interdit"),
    ("donnees/.cache", "fichier interdit"), ("autre/x.txt", "fichier interdit"),
])
def test_manifeste_hostile_refuse(archive_saine, tmp_path, chemin, attendu):
    """Un manifeste recalculé qui vise un chemin hors du dossier, la base ou le cache est refusé."""
    alteree = tmp_path / "hostile.tar"
    ligne = {"chemin": chemin, "octets": 2, "sha256": hashlib.sha256(b"{}").hexdigest()}
    recalculer_manifeste(archive_saine, alteree, lambda m: m["fichiers"].append(ligne),
                         {chemin.replace("\x00", ""): b"{}"})
    with pytest.raises(ErreurDonnees, match=attendu):
        sauvegarde.restaurer(alteree, tmp_path / "cible")
    assert not (tmp_path / "cible").exists() and not (tmp_path / "evasion.txt").exists()


def test_manifeste_recalcule_aux_comptes_faux_refuse(archive_saine, tmp_path):
    alteree = tmp_path / "faux.tar"

    def changer(manifeste):
        manifeste["base"]["comptes"]["operation"] += 1

    recalculer_manifeste(archive_saine, alteree, changer)
    with pytest.raises(ErreurDonnees, match="ne correspond pas à son manifeste"):
        sauvegarde.restaurer(alteree, tmp_path / "cible")
    assert not (tmp_path / "cible").exists()


def test_moteur_different_refuse(archive_saine, tmp_path, monkeypatch):
    monkeypatch.setenv("DESIMPER_BASE_URL", "postgresql+psycopg://personne@/nulle?host=/nulle&port=1")
    monkeypatch.setattr(sauvegarde.base_sauvegarde, "base_postgresql_occupee", lambda url: False)
    with pytest.raises(ErreurDonnees, match="contient une base sqlite et la destination est une base postgresql"):
        sauvegarde.restaurer(archive_saine, tmp_path / "cible")
    assert not (tmp_path / "cible").exists()


# --------------------------------------------------------------------------- territoire vivant


def test_restauration_sur_un_territoire_vivant(territoire, archive_saine, tmp_path):
    dossier, _ = territoire
    avant = empreintes_dossier(dossier)
    with pytest.raises(ErreurDonnees, match="contient déjà un territoire.*--remplacer"):
        sauvegarde.restaurer(archive_saine, dossier)
    assert empreintes_dossier(dossier) == avant and not (dossier / "archives").exists()

    # Le territoire change après la sauvegarde ; la restauration avec remplacer range l'ancien puis le remplace.
    magasin = Magasin(url_sqlite(dossier))
    magasin.creer_operation(operation_type(photos=[]), auteur="test")
    modifie = etat_registre(url_sqlite(dossier))
    magasin.fermer()
    resultat = sauvegarde.restaurer(archive_saine, dossier, remplacer=True)
    ancien = resultat["ancien"]
    assert ancien.parent == dossier / "archives" and ancien.name.startswith("avant-restauration-")
    assert etat_registre(url_sqlite(ancien))["comptes"] == modifie["comptes"]
    assert empreintes_dossier(ancien) == avant
    assert etat_registre(url_sqlite(dossier))["comptes"]["operation"] == modifie["comptes"]["operation"] - 1
    assert empreintes_dossier(dossier) == avant


def test_restauration_qui_echoue_laisse_l_ancien_en_place(territoire, archive_saine, monkeypatch):
    dossier, _ = territoire
    avant_fichiers = empreintes_dossier(dossier)
    avant_registre = etat_registre(url_sqlite(dossier))
    remplacer = os.replace

    def remplacer_en_panne(source, cible):
        if Path(cible).name == "desimper.sqlite" and ".restauration-" in str(source):
            raise OSError(errno.ENOSPC, "No space left on device")
        return remplacer(source, cible)

    monkeypatch.setattr(sauvegarde.os, "replace", remplacer_en_panne)
    with pytest.raises(ErreurDonnees, match="(?i)disque plein"):
        sauvegarde.restaurer(archive_saine, dossier, remplacer=True)
    assert empreintes_dossier(dossier) == avant_fichiers
    assert etat_registre(url_sqlite(dossier)) == avant_registre
    assert not [p.name for p in dossier.iterdir() if p.name.startswith(".")]
    assert not (dossier / "archives").exists() or not list((dossier / "archives").iterdir())


# --------------------------------------------------------------------------- écritures concurrentes


def test_sauvegarde_pendant_des_ecritures_est_coherente(territoire, tmp_path):
    dossier, _ = territoire
    arret = threading.Event()
    creees: list[int] = []
    erreurs: list[BaseException] = []

    def ecrire():
        magasin = Magasin(url_sqlite(dossier))
        try:
            while not arret.is_set():
                creees.append(magasin.creer_operation(operation_type(photos=[], nom=f"Concurrente {len(creees)}"),
                                                      auteur="fil"))
        except BaseException as exc:  # noqa: BLE001 - remonté au test ci-dessous
            erreurs.append(exc)
        finally:
            magasin.fermer()

    fil = threading.Thread(target=ecrire)
    fil.start()
    try:
        while len(creees) < 5:
            threading.Event().wait(0.02)
        archives = []
        for i in range(3):
            archives.append(tmp_path / f"pendant_{i}.tar")
            sauvegarde.sauvegarder(dossier, archives[-1])
    finally:
        arret.set()
        fil.join(60)
    assert not erreurs and len(creees) >= 5
    for i, archive in enumerate(archives):
        cible = tmp_path / f"restaure_{i}"
        manifeste = sauvegarde.restaurer(archive, cible)["manifeste"]
        with sqlite3.connect(cible / "desimper.sqlite") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            operations = {r[0] for r in conn.execute("SELECT id FROM operation")}
            creations = {r[0] for r in conn.execute(
                "SELECT enregistrement_id FROM journal WHERE action = 'creation' AND table_cible = 'operation'")}
        assert operations == creations  # journal cohérent : chaque opération a sa création, et rien de plus
        assert len(operations) == manifeste["base"]["comptes"]["operation"]


# ------------------------------------------------------------------------------------- pannes, CLI


def test_disque_plein_pendant_la_sauvegarde(territoire, tmp_path, monkeypatch, capsys):
    dossier, _ = territoire
    ajouter = tarfile.TarFile.addfile
    appels = []

    def ajouter_puis_panne(self, *args, **kwargs):
        appels.append(1)
        if len(appels) > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return ajouter(self, *args, **kwargs)

    monkeypatch.setattr(tarfile.TarFile, "addfile", ajouter_puis_panne)
    code = cli.main(["sauvegarder", "--dossier", str(dossier), "--vers", str(tmp_path / "plein.tar")])
    erreur = capsys.readouterr().err
    assert code == 2
    assert "Écriture de la sauvegarde impossible" in erreur and "disque plein" in erreur.lower()
    assert "Traceback" not in erreur
    assert not [p for p in tmp_path.iterdir() if "plein" in p.name]


def test_disque_plein_pendant_la_copie_de_la_base(territoire, tmp_path, monkeypatch, capsys):
    """Panne dans l'API de sauvegarde de SQLite (copie de la base sur un disque plein) : message français."""
    dossier, _ = territoire

    class ConnexionPleine:
        def __init__(self, vraie):
            self.vraie = vraie

        def __getattr__(self, nom):
            return getattr(self.vraie, nom)

        def backup(self, *_args, **_kwargs):
            raise sqlite3.OperationalError("database or disk is full")

    ouvrir = sqlite3.connect
    monkeypatch.setattr(sauvegarde_base.sqlite3, "connect", lambda *a, **k: ConnexionPleine(ouvrir(*a, **k)))
    code = cli.main(["sauvegarder", "--dossier", str(dossier), "--vers", str(tmp_path / "plein.tar")])
    erreur = capsys.readouterr().err
    assert code == 2 and "Copie de la base" in erreur and "disque plein" in erreur.lower() and "Traceback" not in erreur
    assert not [p for p in tmp_path.iterdir() if "plein" in p.name]


def test_cli_sauvegarder_puis_restaurer(territoire, tmp_path, capsys):
    dossier, _ = territoire
    archive = tmp_path / "cli.tar"
    assert cli.main(["sauvegarder", "--dossier", str(dossier), "--vers", str(archive)]) == 0
    sortie = capsys.readouterr().out
    assert "Sauvegarde écrite" in sortie and "operation :" in sortie and "photos" in sortie
    assert cli.main(["restaurer", str(archive), "--dossier", str(tmp_path / "neuf")]) == 0
    sortie = capsys.readouterr().out
    assert "Territoire restauré" in sortie and "reconnecte" in sortie
    assert cli.main(["restaurer", str(archive), "--dossier", str(tmp_path / "neuf")]) == 2
    assert "--remplacer" in capsys.readouterr().err
    assert cli.main(["restaurer", str(archive), "--dossier", str(tmp_path / "neuf"), "--remplacer"]) == 0
    assert "rangé dans" in capsys.readouterr().out


@pytest.mark.parametrize("arguments, attendu", [
    (["sauvegarder", "--dossier", "{tmp}/absent", "--vers", "{tmp}/a.tar"], "ce dossier n'existe pas"),
    (["sauvegarder", "--dossier", "{dossier}", "--vers", "{tmp}/absent/a.tar"], "dossier de destination"),
    (["restaurer", "{tmp}/absente.tar", "--dossier", "{tmp}/x"], "introuvable"),
    (["restaurer", "{dossier}/territoire.json", "--dossier", "{dossier}", "--remplacer"],
     "est dans le dossier à remplacer"),
])
def test_cli_entrees_fautives(territoire, tmp_path, capsys, arguments, attendu):
    dossier, _ = territoire
    avant = empreintes_dossier(dossier)
    code = cli.main([a.format(tmp=tmp_path, dossier=dossier) for a in arguments])
    erreur = capsys.readouterr().err
    assert code == 2 and attendu in erreur and "Traceback" not in erreur
    assert empreintes_dossier(dossier) == avant and not (tmp_path / "x").exists()


def test_sauvegarde_n_ecrase_jamais(territoire, tmp_path):
    dossier, _ = territoire
    archive = tmp_path / "une.tar"
    archive.write_bytes(b"precieux")
    with pytest.raises(ErreurDonnees, match="existe déjà"):
        sauvegarde.sauvegarder(dossier, archive)
    assert archive.read_bytes() == b"precieux"


# ------------------------------------------------------------------------------------------ PostGIS


@pytest.fixture
def binaires_pg(monkeypatch, dossier_binaires_pg):
    """pg_dump, pg_restore et psql pris à côté d'initdb, comme la grappe jetable de conftest."""
    dossier = dossier_binaires_pg
    if dossier is not None:
        monkeypatch.setenv(sauvegarde_base.VARIABLE_BINAIRES, str(dossier))


@pytest.mark.postgresql
def test_restauration_postgis_rend_un_registre_identique(fabrique_base_postgresql, binaires_pg, tmp_path,
                                                         monkeypatch):
    from donnees.demo import generer_demo

    url = fabrique_base_postgresql("sauvegarde_origine")
    dossier = tmp_path / "origine"
    generer_demo(dossier, taille="petite", graine=7, url_base=url)
    jeton = preparer_comptes(url)
    avant = etat_registre(url)
    fichiers_avant = empreintes_dossier(dossier)
    archive = tmp_path / "pg.tar"
    monkeypatch.setenv("DESIMPER_BASE_URL", url)
    manifeste = sauvegarde.sauvegarder(dossier, archive)
    assert manifeste["base"]["moteur"] == "postgresql" and manifeste["base"]["fichier"] == "base/desimper.dump"
    assert manifeste["base"]["comptes"] == avant["comptes"]

    url_cible = fabrique_base_postgresql("sauvegarde_cible")
    monkeypatch.setenv("DESIMPER_BASE_URL", url_cible)
    cible = tmp_path / "restaure"
    sauvegarde.restaurer(archive, cible)
    apres = etat_registre(url_cible)
    assert apres == avant
    assert empreintes_dossier(cible) == fichiers_avant
    assert not session_valide(url_cible, jeton) and session_valide(url, jeton)
    magasin = Magasin(url_cible)  # la base restaurée reçoit de nouvelles opérations (séquences restaurées)
    nouvel_id = magasin.creer_operation(operation_type(photos=[]), auteur="test")
    magasin.fermer()
    assert nouvel_id > max(int(o) for o in Magasin(url_cible).lire_operations()["id"] if int(o) != nouvel_id)

    # Base vivante : refus sans remplacer ; une restauration qui échoue (contrôle final faussé) ne change rien.
    with pytest.raises(ErreurDonnees, match="--remplacer"):
        sauvegarde.restaurer(archive, tmp_path / "autre")
    etat_vivant = etat_registre(url_cible)
    controle = sauvegarde_base._script_controle
    monkeypatch.setattr(sauvegarde_base, "_script_controle", lambda *a: "SELECT 1/0;\n")
    with pytest.raises(ErreurDonnees, match="Restauration de la base PostgreSQL impossible : échec de psql ; rien"):
        sauvegarde.restaurer(archive, cible, remplacer=True)
    assert etat_registre(url_cible) == etat_vivant
    assert empreintes_dossier(cible) == fichiers_avant
    assert not (cible / "archives").exists() or not list((cible / "archives").iterdir())
    monkeypatch.setattr(sauvegarde_base, "_script_controle", controle)
    resultat = sauvegarde.restaurer(archive, cible, remplacer=True)
    assert etat_registre(url_cible)["comptes"] == avant["comptes"]
    assert (resultat["ancien"] / "base-avant-restauration.dump").stat().st_size > 0


@pytest.mark.postgresql
def test_sauvegarde_postgis_pendant_des_ecritures_et_base_aux_tables_vides(fabrique_base_postgresql, binaires_pg,
                                                                          tmp_path, monkeypatch):
    """Sous PostGIS, comptes du manifeste et copie viennent du même instantané exporté, même quand un fil crée
    des opérations ; une base dont les tables sont vides (premier démarrage) n'est pas un territoire vivant."""
    url = fabrique_base_postgresql("sauvegarde_ecritures")
    magasin = Magasin(url)
    magasin.creer_tables()
    dossier = tmp_path / "origine"
    dossier.mkdir()
    (dossier / "territoire.json").write_text('{"nom": "Essai"}', encoding="utf-8")
    arret, creees, erreurs = threading.Event(), [], []

    def ecrire():
        try:
            while not arret.is_set():
                creees.append(magasin.creer_operation(operation_type(photos=[]), auteur="fil"))
        except BaseException as exc:  # noqa: BLE001 - remonté au test ci-dessous
            erreurs.append(exc)

    fil = threading.Thread(target=ecrire)
    fil.start()
    try:
        while len(creees) < 5:
            threading.Event().wait(0.02)
        sauvegarde.sauvegarder(dossier, tmp_path / "pg.tar", url=url)
    finally:
        arret.set()
        fil.join(60)
        magasin.fermer()
    assert not erreurs
    cible_url = fabrique_base_postgresql("sauvegarde_ecritures_cible")
    vide = Magasin(cible_url)
    vide.creer_tables()  # l'application a démarré une fois : tables créées, vides
    vide.fermer()
    manifeste = sauvegarde.restaurer(tmp_path / "pg.tar", tmp_path / "restaure", url=cible_url)["manifeste"]
    restaure = Magasin(cible_url)
    try:
        operations = set(restaure.lire_operations()["id"].astype(int))
        journal = restaure.lire_journal()
        creations = set(journal.loc[journal["action"].eq("creation") & journal["table_cible"].eq("operation"),
                                    "enregistrement_id"].astype(int))
    finally:
        restaure.fermer()
    assert operations == creations and len(operations) == manifeste["base"]["comptes"]["operation"] >= 5
    assert len(operations) < len(creees)  # le fil a continué d'écrire après l'instantané


def test_binaire_postgresql_de_la_bonne_version(tmp_path, monkeypatch):
    """Un pg_dump d'une autre version majeure que le serveur est écarté, avec un message qui dit quoi installer."""
    faux = tmp_path / "pg_dump"
    faux.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 13.9'\n")
    faux.chmod(0o755)
    monkeypatch.setenv(sauvegarde_base.VARIABLE_BINAIRES, str(tmp_path))
    monkeypatch.setattr(sauvegarde_base, "glob", lambda motif: [])
    monkeypatch.setattr(sauvegarde_base.shutil, "which", lambda nom: None)
    with pytest.raises(ErreurDonnees, match="pg_dump de PostgreSQL 99 introuvable.*13.*DESIMPER_PG_BIN"):
        sauvegarde_base.trouver_binaire_pg("pg_dump", 99)
    assert sauvegarde_base.trouver_binaire_pg("pg_dump", 13) == faux
