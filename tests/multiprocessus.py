"""Outils des tests multiprocessus et du banc de charge : registre SQLite copié dans PostGIS, processus
Streamlit derrière nginx (configuration de ``services.deploiement``), CPU et mémoire lus dans /proc.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from outils import RACINE, manquer, port_libre
from services.deploiement import (
    PlanDeploiement,
    arreter_processus,
    attendre_sante,
    ecrire_configuration_nginx,
    environnement_processus,
    lancer_nginx,
    lancer_processus_streamlit,
    trouver_nginx,
)

TICS_PAR_SECONDE = os.sysconf("SC_CLK_TCK")
OCTETS_PAR_PAGE = os.sysconf("SC_PAGE_SIZE")


def exiger_nginx() -> str:
    """Chemin de nginx ; test ignoré s'il manque (échec sous CI=true)."""
    chemin = trouver_nginx()
    if chemin is None:
        manquer("nginx introuvable (paquet Debian nginx)")
    return chemin


def copier_magasin(url_source: str, url_cible: str) -> dict[str, int]:
    """Copie toutes les tables du magasin ``url_source`` (SQLite) dans ``url_cible`` (PostGIS, schéma créé par
    les migrations), identifiants compris, puis recale les séquences ; renvoie le nombre de lignes par table.
    La source est d'abord mise à niveau (migrations) : passer une copie."""
    from donnees.magasin import Magasin
    from donnees.magasin.tables import metadonnees

    for url in (url_source, url_cible):
        magasin = Magasin(url)
        magasin.creer_tables()
        magasin.fermer()
    source_moteur, cible_moteur = create_engine(url_source), create_engine(url_cible)
    comptes = {}
    try:
        with source_moteur.connect() as source, cible_moteur.begin() as destination:
            for table in metadonnees.sorted_tables:
                lignes = [dict(ligne._mapping) for ligne in source.execute(select(table))]
                if lignes:
                    destination.execute(table.insert(), lignes)
                comptes[table.name] = len(lignes)
                if "id" in table.c and lignes:
                    maximum = destination.execute(select(func.max(table.c.id))).scalar_one()
                    destination.execute(text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :m)"),
                                        {"t": table.name, "m": maximum})
    finally:
        source_moteur.dispose()
        cible_moteur.dispose()
    return comptes


def lire_cpu_s(pid: int) -> float:
    """Temps CPU (utilisateur + système, s) consommé par le processus ``pid`` (/proc/pid/stat)."""
    champs = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(champs[11]) + int(champs[12])) / TICS_PAR_SECONDE


def lire_cpu_famille_s(pid: int) -> float:
    """Temps CPU (s) du processus ``pid`` et de ses enfants directs vivants (ex. nginx : maître et ouvriers)."""
    enfants = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return lire_cpu_s(pid) + sum(lire_cpu_s(int(enfant)) for enfant in enfants)


def lire_rss_mo(pid: int) -> float:
    """Mémoire résidente (Mo) du processus ``pid`` (/proc/pid/statm)."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * OCTETS_PAR_PAGE / 2**20


@dataclass
class Grappe:
    """Processus Streamlit derrière nginx ; ``url`` : adresse du mandataire."""

    plan: PlanDeploiement
    serveurs: list[subprocess.Popen] = field(default_factory=list)
    nginx: subprocess.Popen | None = None
    journaux: list = field(default_factory=list)
    url_base: str = ""
    environnement: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.plan.port_mandataire}"

    @property
    def urls_processus(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.plan.ports]

    @property
    def journal_acces(self) -> Path:
        return Path(self.plan.dossier_execution) / "acces.log"

    def lancer_processus(self, port: int, nom_journal: str) -> subprocess.Popen:
        """Un processus ``desimper serveur`` sur ``port``, sortie dans ``nom_journal`` du dossier d'exécution."""
        journal = open(Path(self.plan.dossier_execution) / nom_journal, "w", encoding="utf-8")
        self.journaux.append(journal)
        return lancer_processus_streamlit(port, self.environnement, journal, [])

    def relancer(self, rang: int) -> None:
        """Relance le processus n° ``rang`` (0, 1…) arrêté, sur son port, et attend qu'il réponde."""
        port = self.plan.ports[rang]
        self.serveurs[rang] = self.lancer_processus(port, f"processus-{port}-relance.log")
        attendre_sante(self.urls_processus[rang], self.serveurs[rang])

    def arreter(self) -> None:
        arreter_processus([un for un in (self.nginx, *self.serveurs) if un is not None])
        for journal in self.journaux:
            journal.close()


def trouver_ports_consecutifs(nombre: int) -> int:
    """Premier port d'une suite de ``nombre`` ports libres consécutifs."""
    for _ in range(50):
        premier = port_libre()
        if all(_port_libre(premier + i) for i in range(1, nombre)):
            return premier
    raise RuntimeError("pas de ports libres consécutifs")


def _port_libre(port: int) -> bool:
    import socket

    with socket.socket() as prise:
        try:
            prise.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def lancer_grappe(nombre: int, dossier: Path, url_base: str, dossier_execution: Path) -> Grappe:
    """``nombre`` processus ``desimper serveur`` (même dossier de données, même magasin) et nginx devant eux."""
    exiger_nginx()
    if dossier_execution.exists():
        shutil.rmtree(dossier_execution)
    dossier_execution.mkdir(parents=True)
    plan = PlanDeploiement(nombre, port_mandataire=port_libre(), premier_port=trouver_ports_consecutifs(nombre),
                           dossier_execution=dossier_execution)
    environnement = environnement_processus(dict(os.environ, DESIMPER_DONNEES=str(dossier),
                                                 DESIMPER_BASE_URL=url_base))
    grappe = Grappe(plan, environnement=environnement)
    try:
        for port in plan.ports:
            grappe.serveurs.append(grappe.lancer_processus(port, f"processus-{port}.log"))
        for url, serveur in zip(grappe.urls_processus, grappe.serveurs):
            attendre_sante(url, serveur)
        grappe.nginx = lancer_nginx(ecrire_configuration_nginx(plan))
        attendre_sante(grappe.url, grappe.nginx, delai_s=30)
    except BaseException:
        grappe.arreter()
        raise
    return grappe


def lire_processus_du_journal(grappe: Grappe, route: str, depuis: int = 0) -> set[str]:
    """Processus (``127.0.0.1:port``) qui ont servi les requêtes portant ce cookie de route (journal de nginx)."""
    time.sleep(0.2)  # nginx écrit la ligne à la fin de la requête
    lignes = grappe.journal_acces.read_text(encoding="utf-8").splitlines()[depuis:]
    return {ligne.split("processus=")[1].split()[0] for ligne in lignes if f" route={route} " in ligne}


def compter_lignes_journal(grappe: Grappe) -> int:
    """Nombre de lignes du journal d'accès de nginx (point de départ d'une lecture)."""
    return len(grappe.journal_acces.read_text(encoding="utf-8").splitlines()) if grappe.journal_acces.exists() else 0


def repartir_onglets(grappe: Grappe, depuis: int = 0) -> dict[str, int]:
    """Websockets (onglets) servis par chaque processus depuis la ligne ``depuis`` du journal de nginx."""
    time.sleep(0.2)
    repartition = {url.removeprefix("http://"): 0 for url in grappe.urls_processus}
    for ligne in grappe.journal_acces.read_text(encoding="utf-8").splitlines()[depuis:]:
        if "/_stcore/stream" in ligne and "processus=" in ligne:
            processus = ligne.split("processus=")[1].split()[0]
            repartition[processus] = repartition.get(processus, 0) + 1
    return repartition


__all__ = ["Grappe", "compter_lignes_journal", "repartir_onglets", "RACINE",
           "copier_magasin", "exiger_nginx", "lancer_grappe", "lire_cpu_famille_s", "lire_cpu_s",
           "lire_processus_du_journal", "lire_rss_mo", "trouver_ports_consecutifs"]
